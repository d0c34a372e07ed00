// The `archive` workflow: one dataset, one month. It reads like the business process:
//   plan → export every batch → verify every batch → delete every batch (guarded) → commit.
// Each step is an idempotent activity whose state lives in the archive store, so a rerun resumes.
// Batches of a phase run `batchConcurrency` at a time; a dataset of thousands of batches continues as
// a new run of the same workflow ID before its history grows large, carrying where it stopped.
import {
  ActivityFailure,
  ApplicationFailure,
  ContinueAsNew,
  ParentClosePolicy,
  continueAsNew,
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

export type BatchPhase = 'export' | 'verify' | 'delete';

export interface ArchiveInput extends DatasetMonth {
  dryRun?: boolean;
  /** Set by continue-as-new: the plan's outcome and where the previous run stopped. */
  resume?: {
    phase: BatchPhase;
    next: number;
    batchConcurrency: number;
    deleteConcurrency: number;
    progress: ArchiveProgress;
  };
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

/** Batch activities per run before continuing as new: keeps every history far under 10,000 events. */
export const BATCH_STEPS_PER_RUN = 600;
const PHASES: BatchPhase[] = ['export', 'verify', 'delete'];

export async function archive(input: ArchiveInput): Promise<ArchiveResult> {
  const { group, dataset, month } = input;
  const progress: ArchiveProgress = input.resume?.progress ?? {
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
  // Series per batch, for the activities' summaries ("export batch 3/8 (500 series)"): known from the
  // exports of this run; every batch but the last has the size of any other full one.
  const batchSeries = new Map<number, number>();
  let fullBatch: number | undefined;
  const summary = (phase: string, b: number) => ({
    summary: ui.batchSummary(
      phase,
      b,
      progress.batches,
      batchSeries.get(b) ?? ui.seriesInBatch(b, progress.batches, progress.series, fullBatch),
    ),
  });
  upsertSearchAttributes([
    { key: OffloadMonth, value: month },
    { key: OffloadGroup, value: group },
    { key: OffloadDataset, value: dataset },
    { key: OffloadPhase, value: progress.phase },
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
  const steps: Record<BatchPhase, (batch: number) => Promise<void>> = {
    export: async (batch) => {
      const r = await warp10.exportBatch.executeWithOptions(summary('export', batch), [
        { group, dataset, month, batch },
      ]);
      batchSeries.set(batch, r.series);
      if (batch < progress.batches) fullBatch ??= r.series;
      progress.exported++;
      progress.points += r.points;
      progress.bytes += r.bytes;
      shown();
    },
    verify: async (batch) => {
      await warp10.verifyBatch.executeWithOptions(summary('verify', batch), [
        { group, dataset, month, batch },
      ]);
      progress.verified++;
      shown();
    },
    delete: async (batch) => {
      await warp10.deleteBatch.executeWithOptions(summary('delete', batch), [
        { group, dataset, month, batch },
      ]);
      progress.deleted++;
      shown();
    },
  };

  try {
    let resume = input.resume;
    if (!resume) {
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
      resume = {
        phase: 'export',
        next: 1,
        batchConcurrency: plan.batchConcurrency ?? 1,
        deleteConcurrency: plan.deleteConcurrency ?? 1,
        progress,
      };
    }

    let budget = BATCH_STEPS_PER_RUN;
    for (const phase of PHASES.slice(PHASES.indexOf(resume.phase))) {
      if (progress.phase !== phase) enter(phase);
      const first = phase === resume.phase ? resume.next : 1;
      const concurrency = phase === 'delete' ? resume.deleteConcurrency : resume.batchConcurrency;
      const stop = await forBatches(first, progress.batches, concurrency, budget, async (b) => {
        try {
          await steps[phase](b);
        } catch (err) {
          failedBatch ??= b;
          throw err;
        }
      });
      budget -= stop - first;
      if (stop <= progress.batches) {
        // The rest of this phase, and the phases after it, in a fresh history.
        await continueAsNew<typeof archive>({
          ...input,
          resume: { ...resume, phase, next: stop, progress },
        });
      }
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
    // Continuing as new is how a long run goes on, not a failure to compensate.
    if (isCancellation(err) || err instanceof ContinueAsNew) throw err;
    const failedPhase = progress.phase;
    enter('failed');
    await startFailureWorkflow(input, failedPhase, failedBatch, progress.batches, err);
    throw err;
  }
}

/**
 * Runs step(first..last) with at most `concurrency` in flight, starting at most `budget` of them (or
 * fewer when the server suggests continuing as new). Returns the first batch not started. On a failure
 * no new batch starts, the ones in flight settle, and the first error is thrown.
 */
async function forBatches(
  first: number,
  last: number,
  concurrency: number,
  budget: number,
  step: (batch: number) => Promise<void>,
): Promise<number> {
  let next = first;
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    while (!failure && next <= last && next - first < budget && !workflowInfo().continueAsNewSuggested) {
      const b = next++;
      try {
        await step(b);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  if (failure) throw failure.err;
  return next;
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
