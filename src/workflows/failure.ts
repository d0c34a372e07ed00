// `archiveFailure`: the compensating workflow of a failed archive. Compensation first (remove what the
// failed run left unverified, record the failure, never touch hot data), then tell the team.
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { StoreActivities } from '../activities/store.ts';
import type { SlackActivities } from '../activities/slack.ts';
import { NON_RETRYABLE } from '../archive/failure-types.ts';
import { workflowUiUrl } from '../ui-url.ts';
import { OffloadDataset, OffloadGroup, OffloadMonth, OffloadPhase } from '../search-attributes.ts';
import { SLACK_RETRY } from './retry-policies.ts';

export interface ArchiveFailureInput {
  group: string;
  dataset: string;
  month: string;
  phase: string;
  batch?: number;
  batchCount?: number;
  error: { type: string; message: string; warp10?: { line?: number; message: string } };
  attempts: number;
  workflowId: string;
  runId: string;
  /** The month index the failed run staged ahead of its commit: removed unless something names it. */
  stagedIndex?: string;
}

export interface NotifySettings {
  uiUrl: string;
  namespace: string;
}

const store = proxyActivities<StoreActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 20, maximumInterval: '1 minute', nonRetryableErrorTypes: [...NON_RETRYABLE] },
});

const settings = proxyActivities<{ notifySettings(): Promise<NotifySettings> }>({
  startToCloseTimeout: '10 seconds',
});

// Slack trouble never breaks an archive: a failed notification is caught below.
const slack = proxyActivities<SlackActivities>({
  startToCloseTimeout: '5 minutes',
  retry: SLACK_RETRY,
});

export function resumeCommand(f: Pick<ArchiveFailureInput, 'month' | 'group' | 'dataset'>): string {
  return `npm run start-archive -- --month ${f.month} --group ${f.group} --dataset ${f.dataset} --wait`;
}

export async function archiveFailure(
  input: ArchiveFailureInput,
): Promise<{ removed: string[]; removedIndex?: string; notified: boolean }> {
  upsertSearchAttributes([
    { key: OffloadMonth, value: input.month },
    { key: OffloadGroup, value: input.group },
    { key: OffloadDataset, value: input.dataset },
    { key: OffloadPhase, value: 'compensate' },
  ]);
  const compensation = await store.compensateFailure({
    group: input.group,
    dataset: input.dataset,
    month: input.month,
    phase: input.phase,
    batch: input.batch,
    error: { type: input.error.type, message: input.error.message },
    workflowId: input.workflowId,
    runId: input.runId,
    ...(input.stagedIndex ? { stagedIndex: input.stagedIndex } : {}),
  });

  upsertSearchAttributes([{ key: OffloadPhase, value: 'notify' }]);
  const { uiUrl, namespace } = await settings.notifySettings();
  const link = workflowUiUrl(uiUrl, namespace, input.workflowId, input.runId);
  let notified = false;
  try {
    const res = await slack.notifyFailure({
      month: input.month,
      group: input.group,
      dataset: input.dataset,
      phase: input.phase,
      batch: input.batch,
      batchCount: input.batchCount,
      error: input.error,
      attempts: input.attempts,
      workflowId: input.workflowId,
      runId: input.runId,
      uiUrl: link,
      resumeCommand: resumeCommand(input),
      compensation:
        `removed ${compensation.removed.length} unverified object(s)` +
        `${compensation.removedIndex ? ' and the month index staged for the commit' : ''}, kept ${compensation.kept} verified batch(es); ` +
        'hot data in Warp 10 untouched by the compensation',
    });
    notified = res.delivered;
  } catch {
    // The failure is recorded in the store and in this workflow's history; the worker logged why Slack refused.
  }
  upsertSearchAttributes([{ key: OffloadPhase, value: 'done' }]);
  return {
    removed: compensation.removed,
    ...(compensation.removedIndex ? { removedIndex: compensation.removedIndex } : {}),
    notified,
  };
}
