// Shared plumbing for the local stack: paths, detached processes, pid files, readiness polling.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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

/**
 * Writes the env file atomically (a temp file beside it, then a rename): a reader sees the previous file
 * or the complete new one, never a half-written one. Callers write it only once everything it describes
 * is ready.
 */
export function writeEnvFile(vars: Record<string, string>, file = STACK_ENV): void {
  ensureDir(path.dirname(file));
  const body = Object.entries(vars)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    // Holds local tokens: readable by the owner only.
    writeFileSync(
      tmp,
      `# Written by npm run stack:up — local endpoints and tokens. Do not commit.\n${body}\n`,
      {
        mode: 0o600,
      },
    );
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * After a failed start: an env file that lacks the Warp 10 lines (WARP10_URL, or WARP10_UNAVAILABLE when
 * its absence was allowed) is removed, so nothing reads a stack without Warp 10 as a ready one. A complete
 * file from an earlier start is kept (same persistent tokens and ports). Returns whether it was removed.
 */
export function dropIncompleteEnvFile(file = STACK_ENV): boolean {
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  if (/^WARP10_URL=\S/m.test(text) || /^WARP10_UNAVAILABLE=/m.test(text)) return false;
  rmSync(file, { force: true });
  return true;
}

/** The last `lines` lines of a log file (empty when it does not exist). */
export function logTail(file: string, lines = 20): string {
  if (!existsSync(file)) return '';
  const text = readFileSync(file, 'utf8').replace(/\s+$/, '');
  return text.split('\n').slice(-lines).join('\n');
}

/** Size and modification time of the given files, and of the files directly inside given folders. */
export function filesFingerprint(paths: string[]): string {
  const parts: string[] = [];
  const add = (p: string) => {
    try {
      const st = statSync(p);
      if (st.isDirectory()) {
        for (const e of readdirSync(p).sort()) {
          const q = path.join(p, e);
          const s2 = statSync(q, { throwIfNoEntry: false });
          if (s2?.isFile()) parts.push(`${q}:${s2.size}:${s2.mtimeMs}`);
        }
      } else parts.push(`${p}:${st.size}:${st.mtimeMs}`);
    } catch {
      parts.push(`${p}:missing`);
    }
  };
  paths.forEach(add);
  return parts.join('|');
}

/** CPU time (user + system, ms) a process has used so far, from /proc; undefined where unavailable. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** The process died before it became ready. */
export class ExitedDuringStart extends StackError {
  override name = 'ExitedDuringStart';
}
/** The process is alive but showed no sign of progress (log, data files, CPU) for the stall window. */
export class StartStalled extends StackError {
  override name = 'StartStalled';
}
/** The overall bound was reached while the process was still making progress; it is left running. */
export class StartTimedOut extends StackError {
  override name = 'StartTimedOut';
}

/** What the progress wait needs from the outside world; tests pass fakes. */
export interface ProgressProbes {
  now(): number;
  sleep(ms: number): Promise<void>;
  isAlive(pid: number): boolean;
  fingerprint(paths: string[]): string;
  cpuMs(pid: number): number | undefined;
  tail(file: string): string;
  report(message: string): void;
}

const realProbes: ProgressProbes = {
  now: () => Date.now(),
  sleep,
  isAlive,
  fingerprint: filesFingerprint,
  cpuMs: processCpuMs,
  tail: (file) => logTail(file),
  report: (message) => console.log(`[stack] ${message}`),
};

export interface ProgressWait {
  /** What is waited for, e.g. "Warp 10 (its HTTP check, then a FIND with its read token)". */
  what: string;
  /** The process's main log, named in every error. */
  log: string;
  pid: number;
  /** Files or folders whose size/mtime changing counts as progress (the log, data files). */
  watch: string[];
  /** Ready when it returns true; any other value (or a throw) is why not yet, kept for the messages. */
  check: () => Promise<true | string>;
  /** No progress at all for this long: give up (StartStalled). */
  stallMs: number;
  /** Overall bound (StartTimedOut), however busy it is. */
  maxMs: number;
  /** CPU time the process must use since the last progress mark to count as progress (default 1 s). */
  minCpuMs?: number;
  pollMs?: number;
  /** A "still waiting" line this often (default 15 s). */
  reportEveryMs?: number;
  /** How to go on once the bound is reached (it is left running), e.g. "run npm run stack:up again". */
  howToGoOn?: string;
}

/**
 * Waits until `check` passes while the process visibly makes progress: it is alive, and its log or data
 * files changed, or it used CPU, within the last `stallMs`. Fails at once when the process dies (with the
 * log's tail), after `stallMs` without any progress, and at `maxMs` in any case — each time saying what it
 * waited for, for how long, where the log is and how to go on.
 */
export async function waitWhileProgressing(
  opts: ProgressWait,
  probes: ProgressProbes = realProbes,
): Promise<void> {
  const { what, log, pid, stallMs, maxMs } = opts;
  const minCpuMs = opts.minCpuMs ?? 1000;
  const pollMs = opts.pollMs ?? 500;
  const reportEveryMs = opts.reportEveryMs ?? 15_000;
  const started = probes.now();
  let lastProgress = started;
  let lastReport = started;
  let fingerprint = probes.fingerprint(opts.watch);
  let cpuMark = probes.cpuMs(pid);
  let lastWhy = 'no answer yet';
  let lastSign = 'started';
  const secs = (ms: number) => `${Math.round(ms / 1000)}s`;
  const tailOf = () => {
    const t = probes.tail(log);
    return t
      ? `
Last lines of ${log}:
${t}`
      : `
(${log} is empty)`;
  };
  for (;;) {
    let why: true | string;
    try {
      why = await opts.check();
    } catch (err) {
      why = (err as Error).message;
    }
    if (why === true) return;
    lastWhy = why;
    const now = probes.now();
    if (!probes.isAlive(pid)) {
      throw new ExitedDuringStart(
        `${what}: the process (pid ${pid}) exited during start-up, after ${secs(now - started)}. See its log: ${log}${tailOf()}`,
      );
    }
    const fp = probes.fingerprint(opts.watch);
    const cpu = probes.cpuMs(pid);
    if (fp !== fingerprint) {
      fingerprint = fp;
      lastProgress = now;
      lastSign = 'its log or data files changed';
      cpuMark = cpu;
    } else if (cpu !== undefined && cpuMark !== undefined && cpu - cpuMark >= minCpuMs) {
      lastProgress = now;
      lastSign = `it used ${((cpu - cpuMark) / 1000).toFixed(1)}s of CPU`;
      cpuMark = cpu;
    } else if (cpuMark === undefined) cpuMark = cpu;
    if (now - lastProgress >= stallMs) {
      throw new StartStalled(
        `${what} is not ready after ${secs(now - started)} and shows no progress: its process (pid ${pid}) is alive, but its log and data files have not changed and it has used no CPU for ${secs(now - lastProgress)} (last check: ${lastWhy}). See its log: ${log}${tailOf()}`,
      );
    }
    if (now - started >= maxMs) {
      throw new StartTimedOut(
        `${what} is still not ready after ${secs(now - started)} (the bound), though it is still making progress (last sign ${secs(now - lastProgress)} ago: ${lastSign}; last check: ${lastWhy}). It is left running (pid ${pid}); its log: ${log}. To go on: ${opts.howToGoOn ?? 'wait until it answers, then start again'}.`,
      );
    }
    if (now - lastReport >= reportEveryMs) {
      lastReport = now;
      probes.report(
        `${what}: still starting after ${secs(now - started)} (last sign of progress ${secs(now - lastProgress)} ago: ${lastSign}; last check: ${lastWhy})`,
      );
    }
    await probes.sleep(pollMs);
  }
}
