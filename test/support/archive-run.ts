// Runs archive workflows for one dataset-month (and erasures) on a fresh in-process worker with its own
// task queue.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { archiveWorkflowId, type MonthRef } from '../../src/archive/layout.ts';
import type { Runtime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import type { ArchiveResult } from '../../src/workflows/archive.ts';
import type { EraseResult } from '../../src/workflows/erase.ts';
import type { EraseRequest } from '../../src/activities/erase.ts';
import { uniqueId, workflowBundle } from './stack.ts';

/**
 * Runs the archive `runs` times in a row (a rerun must find the month archived); rejects with the
 * workflow's failure if a run fails. Workflow IDs carry the task queue, so tests never collide.
 * `ref` may ask for a dry run.
 */
export async function archiveRuns(
  env: TestWorkflowEnvironment,
  rt: Runtime,
  ref: MonthRef & { dryRun?: boolean },
  runs = 1,
): Promise<ArchiveResult[]> {
  const taskQueue = uniqueId(`archive-${ref.dataset}`);
  const worker = await createOffloadWorker({
    connection: env.nativeConnection,
    runtime: rt,
    taskQueue,
    workflowBundle: await workflowBundle(),
  });
  return worker.runUntil(async () => {
    const results: ArchiveResult[] = [];
    for (let i = 0; i < runs; i++) {
      results.push(
        await env.client.workflow.execute('archive', {
          taskQueue,
          workflowId: `${archiveWorkflowId(ref)}-${taskQueue}${i === 0 ? '' : `-again-${i}`}`,
          args: [ref],
        }),
      );
    }
    return results;
  });
}

/** Runs an erasure (`erase` workflow) on a fresh in-process worker with its own task queue. */
export async function eraseRun(
  env: TestWorkflowEnvironment,
  rt: Runtime,
  args: EraseRequest,
): Promise<EraseResult> {
  const taskQueue = uniqueId('erase');
  const worker = await createOffloadWorker({
    connection: env.nativeConnection,
    runtime: rt,
    taskQueue,
    workflowBundle: await workflowBundle(),
  });
  return worker.runUntil(
    env.client.workflow.execute('erase', { taskQueue, workflowId: uniqueId('erase-run'), args: [args] }),
  );
}
