// Client side of one dataset-month: start (or attach to) the archive workflow and follow its progress.
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { archiveWorkflowId, type MonthRef } from '../archive/layout.ts';
import type { OffloadConfig } from '../config/schema.ts';
import { workflowUiUrl } from '../ui-url.ts';
import type { ArchiveProgress, ArchiveResult } from '../workflows/archive.ts';
import { archiveStaticDetails, archiveSummary } from '../workflows/summaries.ts';

export interface Started {
  workflowId: string;
  runId: string;
  uiUrl: string;
  /** False when a run of this dataset-month was already going: we attached to it. */
  started: boolean;
}

export async function startArchive(
  client: Client,
  config: OffloadConfig,
  ref: MonthRef & { dryRun?: boolean; ignoreLateness?: boolean },
): Promise<Started> {
  // A dry run changes nothing, so it gets its own ID and never blocks or is blocked by a real run.
  const workflowId = ref.dryRun ? `${archiveWorkflowId(ref)}/dry-run/${Date.now()}` : archiveWorkflowId(ref);
  const ui = (runId?: string) =>
    workflowUiUrl(config.temporal.uiUrl, config.temporal.namespace, workflowId, runId);
  try {
    const handle = await client.workflow.start('archive', {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [
        {
          group: ref.group,
          dataset: ref.dataset,
          month: ref.month,
          dryRun: ref.dryRun,
          ...(ref.ignoreLateness ? { ignoreLateness: true } : {}),
        },
      ],
      staticSummary: archiveSummary(ref),
      staticDetails: archiveStaticDetails(ref),
    });
    return {
      workflowId,
      runId: handle.firstExecutionRunId,
      uiUrl: ui(handle.firstExecutionRunId),
      started: true,
    };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const { runId } = await client.workflow.getHandle(workflowId).describe();
    return { workflowId, runId, uiUrl: ui(runId), started: false };
  }
}

/**
 * Polls a run's progress query until the run ends, calling `onProgress` on every change; returns the
 * run's result. Shared by the archive and restore CLIs.
 */
export async function followProgress<P, R>(
  handle: WorkflowHandle,
  query: string,
  onProgress: (p: P) => void,
  intervalMs = 1000,
): Promise<R> {
  let last = '';
  const result = handle.result() as Promise<R>;
  let done = false;
  result.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done) {
    try {
      const p = await handle.query<P>(query);
      const key = JSON.stringify(p);
      if (key !== last) onProgress(p);
      last = key;
    } catch {
      // No worker yet, or the run just ended: the result tells.
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, intervalMs))]);
  }
  return result;
}

/** Follows an archive run (`archiveProgress`). */
export const follow = (handle: WorkflowHandle, onProgress: (p: ArchiveProgress) => void, intervalMs = 1000) =>
  followProgress<ArchiveProgress, ArchiveResult>(handle, 'archiveProgress', onProgress, intervalMs);

/** Why a followed run failed: the failure type and message of its cause (an activity's), for the CLIs. */
export function runFailure(err: unknown): { type: string; message: string } {
  const cause = err instanceof WorkflowFailedError ? err.cause : err;
  const inner = (cause as { cause?: { type?: string; message?: string } })?.cause ?? cause;
  const type = (inner as { type?: string })?.type ?? (inner as Error)?.name;
  return { type: String(type), message: (inner as Error)?.message ?? String(inner) };
}
