// A worker process as operators run it (npm run worker), for tests: spawn, read its output, stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Warp10Stack } from './stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export type WorkerProcess = ChildProcess & { output: () => string; stdout_: () => string };

export function startWorkerProcess(
  configFile: string,
  w: Warp10Stack,
  env: Record<string, string> = {},
): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      OFFLOAD_CONFIG: configFile,
      WARP10_READ_TOKEN: w.readToken,
      WARP10_WRITE_TOKEN: w.writeToken,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return Object.assign(child, { output: () => out, stdout_: () => stdout });
}

export const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.exitCode !== null || child.signalCode !== null
      ? resolve({ code: child.exitCode, signal: child.signalCode })
      : child.once('exit', (code, signal) => resolve({ code, signal })),
  );

/** Waits until the worker's output matches `re`; returns the match. */
export async function waitForOutput(
  worker: WorkerProcess,
  re: RegExp,
  timeoutMs = 60_000,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = worker.output().match(re);
    if (m) return m;
    if (Date.now() > deadline || worker.exitCode !== null) {
      throw new Error(`worker output never matched ${re}:\n${worker.output().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
