// Runs restore workflows on a fresh in-process worker with its own task queue, and dumps what Warp 10
// holds of a class, for comparing before an archive and after a restore.
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { restoreWorkflowId } from '../../src/archive/layout.ts';
import type { RestoreRequest } from '../../src/restore/plan.ts';
import type { Runtime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { httpRunner } from '../../src/warp10/runner.ts';
import type { RestoreResult } from '../../src/workflows/restore.ts';
import { uniqueId, workflowBundle } from './stack.ts';

const DUMP_FULL = path.resolve(import.meta.dirname, 'warpscript', 'dump-full.mc2');

/** Runs each request in turn (same workflow ID for the same month and target, as the CLI does). */
export async function restoreRuns(
  env: TestWorkflowEnvironment,
  rt: Runtime,
  reqs: RestoreRequest[],
): Promise<PromiseSettledResult<RestoreResult>[]> {
  const taskQueue = uniqueId('restore');
  const worker = await createOffloadWorker({
    connection: env.nativeConnection,
    runtime: rt,
    taskQueue,
    workflowBundle: await workflowBundle(),
  });
  return worker.runUntil(async () => {
    const out: PromiseSettledResult<RestoreResult>[] = [];
    for (const req of reqs) {
      const run = env.client.workflow.execute('restore', {
        taskQueue,
        workflowId: `${restoreWorkflowId(req, req.target)}-${taskQueue}`,
        args: [req],
      }) as Promise<RestoreResult>;
      out.push(...(await Promise.allSettled([run])));
    }
    return out;
  });
}

export type DumpRow = [
  string,
  Record<string, string>,
  number[],
  unknown[],
  string[],
  unknown[],
  unknown[],
  unknown[],
];

/** Everything a class holds in [start, end] (inclusive): see dump-full.mc2. */
export async function dumpFull(
  w: { url: string; readToken: string },
  cls: string,
  start: number,
  end: number,
): Promise<DumpRow[]> {
  const c = new Warp10Client({ url: w.url });
  try {
    const [rows] = await httpRunner(c).run<[DumpRow[]]>(DUMP_FULL, {
      token: w.readToken,
      class: cls,
      start,
      end,
    });
    return rows;
  } finally {
    await c.close();
  }
}
