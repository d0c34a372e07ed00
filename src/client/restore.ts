// Client side of a restore: start (or attach to) the restore workflow and follow its progress.
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { restoreWorkflowId } from '../archive/layout.ts';
import type { OffloadConfig } from '../config/schema.ts';
import type { RestoreRequest } from '../restore/plan.ts';
import { workflowUiUrl } from '../ui-url.ts';
import type { RestoreProgress, RestoreResult } from '../workflows/restore.ts';
import { followProgress, type Started } from './archive.ts';

/** A restore of the same month and target is running with other options: wait for it first. */
export class RestoreBusyError extends Error {
  override name = 'RestoreBusyError';
}

const optionsOf = (r: RestoreRequest) =>
  JSON.stringify([r.series ?? null, r.from ?? null, r.to ?? null, r.merge ?? false]);

export async function startRestore(
  client: Client,
  config: OffloadConfig,
  req: RestoreRequest,
): Promise<Started> {
  const base = restoreWorkflowId(req, req.target);
  // A dry run writes nothing: its own ID, never blocked by (nor blocking) a real restore.
  const workflowId = req.dryRun ? `${base}/dry-run/${Date.now()}` : base;
  const ui = (runId?: string) =>
    workflowUiUrl(config.temporal.uiUrl, config.temporal.namespace, workflowId, runId);
  try {
    const handle = await client.workflow.start('restore', {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [req],
      memo: { options: optionsOf(req) },
    });
    return {
      workflowId,
      runId: handle.firstExecutionRunId,
      uiUrl: ui(handle.firstExecutionRunId),
      started: true,
    };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const d = await client.workflow.getHandle(workflowId).describe();
    if (d.memo?.options !== optionsOf(req)) {
      throw new RestoreBusyError(
        `a restore of ${req.group}/${req.dataset} ${req.month} into ${req.target ?? 'the configured Warp 10'} is already running with other options (${workflowId}); wait for it to finish, then run this one`,
      );
    }
    return { workflowId, runId: d.runId, uiUrl: ui(d.runId), started: false };
  }
}

/** Follows a restore run (`restoreProgress`). */
export const followRestore = (
  handle: WorkflowHandle,
  onProgress: (p: RestoreProgress) => void,
  intervalMs = 1000,
) => followProgress<RestoreProgress, RestoreResult>(handle, 'restoreProgress', onProgress, intervalMs);
