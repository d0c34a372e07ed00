// What the benches that archive on the local stack share (archive.ts, scale.ts, cold.ts, restore.ts):
// the check for a Warp 10, the connections to Temporal and the workflow bundle, a configuration of one
// `bench` group on the stack's Warp 10 with a local store, a worker in this process, the archive workflow
// run on it, and the plain script's floor (FETCH + WRAP export through gzip, one full read, one DELETE).
import { createWriteStream, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { archiveWorkflowId, type MonthRef } from '../../src/archive/layout.ts';
import type { OffloadConfig } from '../../src/config/schema.ts';
import { parseConfig } from '../../src/config/load.ts';
import { monthRange } from '../../src/month.ts';
import type { Runtime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import type { ArchiveResult } from '../../src/workflows/archive.ts';
import { DATA, ROOT, ensureDir } from '../stack/common.ts';

/** A file of scripts/bench/ (the plain script's .mc2 files). */
export const here = (f: string) => path.join(ROOT, 'scripts', 'bench', f);
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

/** WARP10_URL, the stack's Warp 10; an error when it is not set. */
export function requireWarp10(): string {
  const url = process.env.WARP10_URL;
  if (!url) throw new Error('no Warp 10: run npm run stack:up (or set WARP10_URL)');
  return url;
}

/** The month's first and last-plus-one microsecond, UTC, as numbers. */
export function monthBounds(month: string): [number, number] {
  const { startUs, endUs } = monthRange(month, 'UTC');
  return [Number(startUs), Number(endUs)];
}

export interface BenchTemporal {
  native: NativeConnection;
  connection: Connection;
  client: Client;
  workflowBundle: { code: string };
  close(): Promise<void>;
}

/** The workflows bundled once for the bench's workers. */
export const bundleWorkflows = () =>
  bundleWorkflowCode({
    workflowsPath: path.join(ROOT, 'src', 'workflows', 'index.ts'),
    logger: new DefaultLogger('WARN'),
  });

/** Connections to the Temporal server (TEMPORAL_ADDRESS, or the stack's) for workers and a client. */
export async function connectTemporal(): Promise<BenchTemporal> {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const native = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const workflowBundle = await bundleWorkflows();
  return {
    native,
    connection,
    client,
    workflowBundle,
    close: async () => {
      await connection.close();
      await native.close();
    },
  };
}

/**
 * A configuration of one group `bench` of `datasets` on the stack's Warp 10 (WARP10_URL and its tokens),
 * with a local store at `storePath`; `more` adds top-level settings (lateData, restoreTargets…).
 */
export function benchConfig(
  taskQueue: string,
  storePath: string,
  datasets: Record<string, unknown>[],
  more: Record<string, unknown> = {},
): OffloadConfig {
  return parseConfig(
    {
      warp10: {
        url: process.env.WARP10_URL,
        readToken: { env: 'WARP10_READ_TOKEN' },
        writeToken: { env: 'WARP10_WRITE_TOKEN' },
      },
      temporal: { taskQueue },
      store: { type: 'local', path: storePath },
      ...more,
      groups: [{ name: 'bench', datasets }],
    },
    'bench',
  );
}

/** A worker in this process on `taskQueue`, with the bench's bundle. */
export const benchWorker = (t: BenchTemporal, runtime: Runtime, taskQueue: string): Promise<Worker> =>
  createOffloadWorker({
    connection: t.native,
    runtime,
    taskQueue,
    workflowBundle: t.workflowBundle,
  });

/** The archive workflow of `ref` (id suffixed by the task queue, a fresh class) run on `worker`, timed. */
export async function runArchive(t: BenchTemporal, worker: Worker, taskQueue: string, ref: MonthRef) {
  const workflowId = `${archiveWorkflowId(ref)}-${taskQueue}`;
  const [ms, result] = await timed(
    () =>
      worker.runUntil(
        t.client.workflow.execute('archive', { taskQueue, workflowId, args: [ref] }),
      ) as Promise<ArchiveResult>,
  );
  return { workflowId, ms, result };
}

/** The plain script on `cls` over [S, E): export (streamed through gzip to a file), one full read, one DELETE. */
export async function plainFloor(rt: Runtime, cls: string, [S, E]: [number, number]) {
  const params = { token: rt.tokens.read, class: cls, start: S, end: E - 1 };
  const file = path.join(ensureDir(path.join(DATA, 'bench')), `${cls}.json.gz`);
  const [exportMs] = await timed(async () => {
    const body = await rt.runner.stream(here('plain-export.mc2'), params);
    await pipeline(Readable.from(body), createGzip(), createWriteStream(file));
  });
  rmSync(file, { force: true });
  const [readMs, [points]] = await timed(() => rt.runner.run<[number]>(here('plain-read.mc2'), params));
  const [deleteMs] = await timed(() =>
    rt.runner.run(here('plain-delete.mc2'), { ...params, token: rt.tokens.write }),
  );
  return { exportMs, readMs, deleteMs, totalMs: exportMs + readMs + deleteMs, points };
}
