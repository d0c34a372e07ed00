// The `archive` workflow: one dataset, one month. It reads like the business process:
//   plan → export every batch → verify every batch → delete every batch (guarded) → commit.
// Each step is an idempotent activity whose state lives in the archive store, so a rerun resumes.
import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  defineQuery,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Warp10Activities, DatasetMonth } from '../activities/warp10.ts';
import type { StoreActivities } from '../activities/store.ts';
import { NON_RETRYABLE, type FailureDetails } from '../archive/failure-types.ts';
import { archiveWorkflowId, failureWorkflowId } from '../archive/layout.ts';
import { OffloadDataset, OffloadGroup, OffloadMonth, OffloadPhase } from '../search-attributes.ts';
import type { ArchiveFailureInput } from './failure.ts';
import { WARP10_OUTAGE_RETRY } from './retry-policies.ts';
import * as ui from './summaries.ts';

export type ArchivePhase = 'plan' | 'export' | 'verify' | 'delete' | 'commit' | 'done' | 'failed';

export interface ArchiveInput extends DatasetMonth {
  dryRun?: boolean;
}

export interface ArchiveProgress {
  phase: ArchivePhase;
  batches: number;
  exported: number;
  verified: number;
  deleted: number;
  series: number;
  points: number;
  bytes: number;
}

export interface ArchiveResult {
  status: 'archived' | 'skipped' | 'dry-run';
  group: string;
  dataset: string;
  month: string;
  batches: number;
  series: number;
  points: number;
  bytes: number;
  reason?: string;
  dryRun?: { batch: number; series: number; points: number; object: string }[];
}

export const archiveProgress = defineQuery<ArchiveProgress>('archiveProgress');

const warp10 = proxyActivities<Warp10Activities>({
  startToCloseTimeout: '2 hours',
  // Activities heartbeat every 5 s even while Warp 10 computes (keep-alive.ts): a dead worker's work
  // is retried elsewhere after 30 s, however long the request.
  heartbeatTimeout: '30 seconds',
  retry: WARP10_OUTAGE_RETRY,
});

const store = proxyActivities<StoreActivities>({
  startToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [...NON_RETRYABLE],
  },
});

export async function archive(input: ArchiveInput): Promise<ArchiveResult> {
  const { group, dataset, month } = input;
  const progress: ArchiveProgress = {
    phase: 'plan',
    batches: 0,
    exported: 0,
    verified: 0,
    deleted: 0,
    series: 0,
    points: 0,
    bytes: 0,
  };
  setHandler(archiveProgress, () => progress);
  // The Web UI's current details follow the run: "infra/os-cpu 2026-10 — export 3/8 batches, …".
  const shown = () => setCurrentDetails(ui.archiveCurrentDetails(input, progress));
  const enter = (phase: ArchivePhase) => {
    progress.phase = phase;
    upsertSearchAttributes([{ key: OffloadPhase, value: phase }]);
    shown();
  };
  // Per-batch series counts, for the activities' summaries ("export batch 3/8 (500 series)").
  const batchSeries = new Map<number, number>();
  const summary = (phase: string, b: number) => ({
    summary: ui.batchSummary(
      phase,
      b,
      progress.batches,
      batchSeries.get(b) ?? ui.seriesInBatch(b, progress.batches, progress.series, batchSeries.get(1)),
    ),
  });
  upsertSearchAttributes([
    { key: OffloadMonth, value: month },
    { key: OffloadGroup, value: group },
    { key: OffloadDataset, value: dataset },
    { key: OffloadPhase, value: 'plan' },
  ]);
  const result = (status: ArchiveResult['status'], extra: Partial<ArchiveResult> = {}): ArchiveResult => ({
    status,
    group,
    dataset,
    month,
    batches: progress.batches,
    series: progress.series,
    points: progress.points,
    bytes: progress.bytes,
    ...extra,
  });

  let failedBatch: number | undefined;
  const onBatch = async <T>(batch: number, step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (err) {
      failedBatch ??= batch;
      throw err;
    }
  };

  try {
    shown();
    const plan = await warp10.planMonth.executeWithOptions({ summary: ui.planSummary(input) }, [
      { ...input, dryRun: input.dryRun },
    ]);
    progress.batches = plan.batchCount;
    progress.series = plan.series;
    if (plan.status === 'archived') {
      Object.assign(progress, { points: plan.points ?? 0, bytes: plan.bytes ?? 0 });
      enter('done');
      return result('skipped', { reason: `${month} of ${group}/${dataset} is already archived` });
    }
    if (plan.status === 'dry-run') {
      progress.points = plan.points ?? 0;
      enter('done');
      return result('dry-run', { dryRun: plan.batches });
    }
    const batches = Array.from({ length: plan.batchCount }, (_, i) => i + 1);

    enter('export');
    for (const b of batches) {
      const r = await onBatch(b, () =>
        warp10.exportBatch.executeWithOptions(summary('export', b), [{ group, dataset, month, batch: b }]),
      );
      batchSeries.set(b, r.series);
      progress.exported++;
      progress.points += r.points;
      progress.bytes += r.bytes;
      shown();
    }

    enter('verify');
    for (const b of batches) {
      await onBatch(b, () =>
        warp10.verifyBatch.executeWithOptions(summary('verify', b), [{ group, dataset, month, batch: b }]),
      );
      progress.verified++;
      shown();
    }

    enter('delete');
    for (const b of batches) {
      await onBatch(b, () =>
        warp10.deleteBatch.executeWithOptions(summary('delete', b), [{ group, dataset, month, batch: b }]),
      );
      progress.deleted++;
      shown();
    }

    enter('commit');
    const info = workflowInfo();
    const committed = await store.commitMonth.executeWithOptions(
      { summary: ui.commitSummary(input, progress.batches) },
      [{ group, dataset, month, workflowId: info.workflowId, runId: info.runId }],
    );
    Object.assign(progress, { series: committed.series, points: committed.points, bytes: committed.bytes });
    enter('done');
    return result('archived');
  } catch (err) {
    if (isCancellation(err)) throw err;
    const failedPhase = progress.phase;
    enter('failed');
    await startFailureWorkflow(input, failedPhase, failedBatch, progress.batches, err);
    throw err;
  }
}

/** Starts the compensating workflow; abandoned so it outlives this failed run. */
async function startFailureWorkflow(
  input: ArchiveInput,
  phase: ArchivePhase,
  batch: number | undefined,
  batchCount: number,
  err: unknown,
): Promise<void> {
  const info = workflowInfo();
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const app = cause instanceof ApplicationFailure ? cause : undefined;
  const details = app?.details?.[0] as FailureDetails | undefined;
  const failure: ArchiveFailureInput = {
    group: input.group,
    dataset: input.dataset,
    month: input.month,
    phase,
    batch: details?.batch ?? batch,
    batchCount,
    error: {
      type: app?.type ?? (cause as Error | undefined)?.name ?? 'Error',
      message: (cause as Error | undefined)?.message ?? String(cause),
      warp10: details?.warp10,
    },
    attempts: details?.attempt ?? 1,
    workflowId: info.workflowId,
    runId: info.runId,
  };
  await startChild('archiveFailure', {
    args: [failure],
    workflowId: failureWorkflowId(input, info.runId),
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: ui.failureSummary(failure),
  });
}

export { archiveWorkflowId };
