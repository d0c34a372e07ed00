// Client side of an erasure: start (or attach to) the erase workflow and follow its progress.
import { createHmac } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { EraseRequest } from '../activities/erase.ts';
import type { OffloadConfig } from '../config/schema.ts';
import { workflowUiUrl } from '../ui-url.ts';
import type { EraseProgress, EraseResult } from '../workflows/erase.ts';
import { followProgress, type Started } from './archive.ts';

/**
 * One erasure of a selector, range and --hot at a time: a second start attaches to the running one. The
 * ID holds a keyed hash (the erasure records' key), not the selector, which names a customer: a hash
 * anyone can compute would tell a guessed selector from the ID. The run's input holds it, for the Web UI.
 */
export function eraseWorkflowId(r: EraseRequest, key: string): string {
  const h = createHmac('sha256', key)
    .update(JSON.stringify([r.selector, r.from ?? '', r.to ?? '', r.hot === true]))
    .digest('hex');
  return `erase/${h.slice(0, 16)}`;
}

export async function startErase(
  client: Client,
  config: OffloadConfig,
  req: EraseRequest,
  key: string,
): Promise<Started> {
  // A dry run changes nothing: its own ID, never blocked by (nor blocking) a real erasure.
  const id = eraseWorkflowId(req, key);
  const workflowId = req.dryRun ? `${id}/dry-run/${Date.now()}` : id;
  const ui = (runId?: string) =>
    workflowUiUrl(config.temporal.uiUrl, config.temporal.namespace, workflowId, runId);
  try {
    const handle = await client.workflow.start('erase', {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [req],
      staticSummary: `${req.dryRun ? 'Dry run of an erasure' : 'Erasure'} of the series of a selector from ${
        req.from || req.to
          ? `${req.from ?? 'the first'}…${req.to ?? 'the last'} archived month`
          : 'every archived month'
      }${req.hot ? ', and from the hot Warp 10' : ''}`,
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
    return { workflowId, runId: d.runId, uiUrl: ui(d.runId), started: false };
  }
}

/** Follows an erase run (`eraseProgress`). */
export const followErase = (
  handle: WorkflowHandle,
  onProgress: (p: EraseProgress) => void,
  intervalMs = 1000,
) => followProgress<EraseProgress, EraseResult>(handle, 'eraseProgress', onProgress, intervalMs);
