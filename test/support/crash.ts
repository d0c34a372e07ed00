// Helpers for the crash rows of the fault matrix: where an archive stands (read from its local store, so
// it works while the worker or Temporal is dead), and a dedicated Temporal dev server a test may SIGKILL.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { monthPrefix, type MonthRef } from '../../src/archive/layout.ts';
import { freePort } from '../../src/metrics/server.ts';
import { SEARCH_ATTRIBUTES } from '../../src/search-attributes.ts';
import { TEMPORAL_BIN } from '../../scripts/stack/temporal.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export interface BatchStatuses {
  exported: number;
  verified: number;
  deleted: number;
  plan: boolean;
  manifest: boolean;
}

/**
 * How many batch manifests of the month are at each status ("exported" counts every batch written,
 * whatever its status since), read straight from a local store's directory.
 */
export async function batchStatuses(storeDir: string, ref: MonthRef): Promise<BatchStatuses> {
  const dir = path.join(storeDir, ...monthPrefix(ref).split('/').filter(Boolean));
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: BatchStatuses = {
    exported: 0,
    verified: 0,
    deleted: 0,
    plan: names.includes('plan.json'),
    manifest: names.includes('manifest.json'),
  };
  for (const n of names.filter((x) => /^batch-\d+\.json$/.test(x))) {
    // Batch manifests are gzip JSON (plain JSON when written before that).
    const status = await readFile(path.join(dir, n))
      .then((b) => (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b).toString('utf8'))
      .then((s) => (JSON.parse(s) as { status: string }).status)
      .catch(() => undefined); // being renamed into place
    if (!status) continue;
    out.exported++;
    if (status === 'verified' || status === 'deleted') out.verified++;
    if (status === 'deleted') out.deleted++;
  }
  return out;
}

export interface DedicatedTemporal {
  address: string;
  /** SIGKILL, no warning: what a crashed host does. */
  kill(): Promise<void>;
  /** Starts it again on the same port and the same SQLite file. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function healthy(address: string): boolean {
  const res = spawnSync(TEMPORAL_BIN, ['operator', 'cluster', 'health', '--address', address], {
    encoding: 'utf8',
  });
  return res.status === 0 && res.stdout.includes('SERVING');
}

/** A Temporal dev server of its own (same binary as the stack's) on free ports, persisted in `dbFile`. */
export async function startDedicatedTemporal(dbFile: string): Promise<DedicatedTemporal> {
  const [port, http, metrics] = [await freePort(), await freePort(), await freePort()];
  const address = `127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';
  const launch = async () => {
    log = '';
    child = spawn(
      TEMPORAL_BIN,
      [
        'server',
        'start-dev',
        '--headless',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--http-port',
        String(http),
        '--metrics-port',
        String(metrics),
        '--db-filename',
        dbFile,
        '--log-level',
        'warn',
        ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => [
          '--search-attribute',
          `${name}=${type}`,
        ]),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!healthy(address)) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`dedicated Temporal did not start:\n${log.slice(-2000)}`);
      await sleep(300);
    }
  };
  const end = async (signal: NodeJS.Signals) => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  };
  await launch();
  return {
    address,
    kill: () => end('SIGKILL'),
    restart: launch,
    stop: () => end('SIGTERM'),
  };
}
