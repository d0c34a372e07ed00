// Shared plumbing for the local stack: paths, detached processes, pid files, readiness polling.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TOOLS = path.join(ROOT, '.tools');
export const DATA = path.join(ROOT, '.data');
export const RUN = path.join(DATA, 'run');
export const LOGS = path.join(DATA, 'logs');
export const STACK_ENV = path.join(DATA, 'stack.env');

export class StackError extends Error {
  override name = 'StackError';
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new StackError(`${name}=${raw} is not a valid TCP port; set it to an integer between 1 and 65535.`);
  }
  return port;
}

/** Runs a command to completion; throws a StackError carrying the tail of its output on failure. */
export function run(cmd: string, args: string[], what: string, opts: { cwd?: string } = {}): string {
  const res = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (res.error) throw new StackError(`${what} failed: could not run ${cmd}: ${res.error.message}`);
  if (res.status !== 0) {
    const out = `${res.stdout ?? ''}\n${res.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new StackError(`${what} failed (exit ${res.status}):\n${out}`);
  }
  return res.stdout;
}

const pidFile = (name: string) => path.join(RUN, `${name}.pid`);
export const logFile = (name: string) => path.join(LOGS, `${name}.log`);

const endpointFile = (name: string) => path.join(RUN, `${name}.endpoint`);

/**
 * One checkout runs one stack (one pid file per server): a server of this checkout that is alive on other
 * ports than those asked for is an error, never something to stop or to overwrite silently.
 */
export function assertNotRunningElsewhere(name: string, what: string, endpoint: string): void {
  const pid = readPid(name);
  if (!isAlive(pid) || !existsSync(endpointFile(name))) return;
  const recorded = readFileSync(endpointFile(name), 'utf8').trim();
  if (recorded !== endpoint) {
    throw new StackError(
      `this checkout's ${what} already runs at ${recorded} (pid ${pid}), not ${endpoint}: stop it first (npm run stack:down with the same port variables), or use its ports.`,
    );
  }
}

export function readPid(name: string): number | undefined {
  const file = pidFile(name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number | undefined): pid is number {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a long-running server detached from this process, output to its log file. */
export function startDetached(
  name: string,
  cmd: string,
  args: string[],
  endpoint: string,
  env: NodeJS.ProcessEnv = {},
): number {
  ensureDir(RUN);
  ensureDir(LOGS);
  const out = openSync(logFile(name), 'a');
  const child = spawn(cmd, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  if (child.pid === undefined) throw new StackError(`could not start ${name} (${cmd})`);
  child.unref();
  writeFileSync(pidFile(name), String(child.pid));
  writeFileSync(endpointFile(name), endpoint);
  return child.pid;
}

/** Stops a server started by startDetached: SIGTERM to its process group, SIGKILL after a grace period. */
export async function stopDetached(name: string, graceMs = 15_000): Promise<boolean> {
  const pid = readPid(name);
  if (!isAlive(pid)) {
    rmSync(pidFile(name), { force: true });
    rmSync(endpointFile(name), { force: true });
    return false;
  }
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) signal('SIGKILL');
  while (isAlive(pid)) await sleep(100);
  rmSync(pidFile(name), { force: true });
  rmSync(endpointFile(name), { force: true });
  return true;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; log: string; pid?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    if (opts.pid !== undefined && !isAlive(opts.pid)) {
      throw new StackError(`${what} exited during start-up. See its log: ${opts.log}`);
    }
    await sleep(300);
  }
  throw new StackError(
    `${what} did not become ready within ${opts.timeoutMs / 1000}s. See its log: ${opts.log}`,
  );
}

export async function httpOk(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(3000) });
  await res.arrayBuffer();
  return res.ok;
}

export function writeEnvFile(vars: Record<string, string>): void {
  ensureDir(DATA);
  const body = Object.entries(vars)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  // Holds local tokens: readable by the owner only.
  writeFileSync(
    STACK_ENV,
    `# Written by npm run stack:up — local endpoints and tokens. Do not commit.\n${body}\n`,
    {
      mode: 0o600,
    },
  );
}
