// The `archive` workflow: one dataset, one month. It reads like the business process:
//   plan → export every batch → verify every batch → delete every batch (guarded) → commit.
// Each step is an idempotent activity whose state lives in the archive store, so a rerun resumes.
// A partitioned plan (disjoint batches) is pipelined instead: each batch exported, verified and deleted
// in its lane, so a delete overlaps the next export.
// Batches of a phase run `batchConcurrency` at a time; a dataset of thousands of batches continues as
// a new run of the same workflow ID before its history grows large, carrying where it stopped.
import {
  ActivityFailure,
  ApplicationFailure,
  ContinueAsNew,
  ParentClosePolicy,
  condition,
  continueAsNew,
  defineQuery,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Warp10Activities, DatasetMonth, PurgeResult } from '../activities/warp10.ts';
import type { StagedIndex, StoreActivities } from '../activities/store.ts';
import type { CatalogActivities } from '../activities/catalog.ts';
import { catalogAnswers } from './catalog.ts';
import type { FailureDetails } from '../archive/failure-types.ts';
import { archiveWorkflowId, failureWorkflowId } from '../archive/layout.ts';
import { skipReason } from '../archive/skip-reason.ts';
import { OffloadDataset, OffloadGroup, OffloadMonth, OffloadPhase } from '../search-attributes.ts';
import type { ArchiveFailureInput } from './failure.ts';
import { STORE_RETRY, WARP10_OUTAGE_RETRY } from './retry-policies.ts';
import * as ui from './summaries.ts';

export type ArchivePhase =
  'plan' | 'export' | 'verify' | 'delete' | 'recheck' | 'commit' | 'purge' | 'done' | 'failed';

export type BatchPhase = 'export' | 'verify' | 'delete';

export interface ArchiveInput extends DatasetMonth {
  dryRun?: boolean;
  /** Set by continue-as-new: the plan's outcome and where the previous run stopped. */
  resume?: {
    phase: BatchPhase;
    next: number;
    batchConcurrency: number;
    deleteConcurrency: number;
    /** Each batch exported, verified and deleted in turn in its lane (a partitioned plan's first round). */
    pipelined?: boolean;
    progress: ArchiveProgress;
    /** Rechecks for late series done so far (each may add batches). */
    rechecks?: number;
    /** The first batch of the phases being run (batches added by a recheck start later than 1). */
    firstOfRound?: number;
    /** Committed batches reopened by a rerun (their series hold points again) still to delete again. */
    reopened?: number[];
    /** After the commit, the series left with no point lose their metadata (`purgeEmptySeries`). */
    purge?: boolean;
    /** The month's index staged by an earlier run (stageMonthIndex), for the commit. */
    staged?: StagedIndex;
  };
  /** Archive even inside the configured lateness after the month's end. */
  ignoreLateness?: boolean;
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
  /** Late data archived as supplements of batches (points), and batches added for late series. */
  latePoints: number;
  lateBatches: number;
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
  /** Dry run of a dataset that purges: the series it would leave empty, whose metadata would go. */
  wouldPurge?: number;
  /** Series whose metadata left Warp 10 after the commit, and what the purge left alone. */
  purge?: Pick<
    PurgeResult,
    | 'purged'
    | 'live'
    | 'revived'
    | 'attributesChanged'
    | 'ambiguous'
    | 'outOfReach'
    | 'inProgress'
    | 'revivedLater'
  >;
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
  // A commit of thousands of batches reads them all; the heartbeat tells it from a dead worker.
  heartbeatTimeout: '30 seconds',
  retry: STORE_RETRY,
});

// Staging the index only saves the commit its build: one retry, then the commit builds it itself.
const staging = proxyActivities<StoreActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { ...STORE_RETRY, maximumAttempts: 2 },
});

const catalog = proxyActivities<CatalogActivities>({
  startToCloseTimeout: '1 minute',
  retry: STORE_RETRY,
});

/** Batch activities per run before continuing as new: keeps every history far under 10,000 events. */
export const BATCH_STEPS_PER_RUN = 600;
/** Late data archived for one batch before giving up for this run (data still pouring in). */
export const LATE_ROUNDS_PER_BATCH = 5;
/** Looks for series with late data in the month before committing it; each may add batches. */
export const RECHECKS_PER_RUN = 3;
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
    latePoints: 0,
    lateBatches: 0,
  };
  progress.latePoints ??= 0;
  progress.lateBatches ??= 0;
  setHandler(archiveProgress, () => progress);
  /** Asks the catalog's writer to publish the month, and waits for its answer (no activity slot held). */
  const publish = catalogAnswers((r) =>
    catalog.requestPublish.executeWithOptions({ summary: ui.catalogSummary(input) }, [r]),
  );
  const publishToCatalog = () => publish({ group, dataset, month });
  let purged: ArchiveResult['purge'];
  /** The series the month left with no point lose their metadata in Warp 10 (no point is deleted). */
  const purgeEmptied = async () => {
    enter('purge');
    const p = await warp10.purgeEmptySeries.executeWithOptions({ summary: ui.purgeSummary(input) }, [
      datasetRef(input),
    ]);
    if (p.status === 'off') return;
    const {
      purged: n,
      live,
      revived,
      attributesChanged,
      ambiguous,
      outOfReach,
      inProgress,
      revivedLater,
    } = p;
    purged = { purged: n, live, revived, attributesChanged, ambiguous, outOfReach, inProgress, revivedLater };
  };
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

  // The month's index, built while the last batches are deleted once every batch is exported (Warp 10
  // deletes, the worker builds); the commit takes it if the batches it commits are those it was built from.
  let staged: Promise<StagedIndex | undefined> | undefined = input.resume?.staged
    ? Promise.resolve(input.resume.staged)
    : undefined;
  /** Carried into the next run when this one continues as new (its commit takes it, or removes it). */
  const stagedSoFar = async () => {
    const index = staged ? await staged : undefined;
    return index ? { staged: index } : {};
  };
  const stageIndex = () => {
    if (staged || progress.exported < progress.batches || !patched('stage-month-index')) return;
    staged = staging.stageMonthIndex
      .executeWithOptions({ summary: ui.stageSummary(input, progress.batches) }, [{ group, dataset, month }])
      .catch(() => undefined);
  };

  let failedBatch: number | undefined;
  /** The step that failed when it is not the run's phase (a pipelined lane's verify or delete). */
  let failedStep: BatchPhase | undefined;
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
      stageIndex();
    },
    verify: async (batch) => {
      await warp10.verifyBatch.executeWithOptions(summary('verify', batch), [
        { group, dataset, month, batch },
      ]);
      progress.verified++;
      shown();
    },
    delete: async (batch) => {
      await guardedDelete(batch);
      progress.deleted++;
      shown();
    },
  };
  // The guarded delete deletes nothing when a series changed since its export (late data, a value
  // rewritten): what is new is archived as a supplement of the batch, and the delete tries again.
  async function guardedDelete(batch: number): Promise<void> {
    for (let round = 1; ; round++) {
      const r = await warp10.deleteBatch.executeWithOptions(summary('delete', batch), [
        { group, dataset, month, batch },
      ]);
      if (r.late.length === 0) break;
      if (round > LATE_ROUNDS_PER_BATCH) {
        throw ApplicationFailure.nonRetryable(
          `batch ${batch}: data is still being written into ${r.late.length} archived series of ${month} ` +
            `(e.g. ${r.late[0]}) after ${LATE_ROUNDS_PER_BATCH} rounds of late data; nothing of it was ` +
            'deleted. Rerun the month once the writers have stopped, or raise `lateness`.',
          'LiveDataChanged',
          { batch } satisfies Partial<FailureDetails>,
        );
      }
      const late = await warp10.archiveLateData.executeWithOptions(
        { summary: `late data of batch ${batch}/${progress.batches} (${r.late.length} series)` },
        [{ group, dataset, month, batch, series: r.late }],
      );
      progress.latePoints += late.points;
      progress.points += late.points;
      progress.bytes += late.bytes;
      shown();
    }
  }

  try {
    let resume = input.resume;
    if (!resume) {
      shown();
      const plan = await warp10.planMonth.executeWithOptions({ summary: ui.planSummary(input) }, [
        { ...datasetRef(input), dryRun: input.dryRun, ignoreLateness: input.ignoreLateness },
      ]);
      progress.batches = plan.batchCount;
      progress.series = plan.series;
      if (plan.status === 'archived') {
        Object.assign(progress, { points: plan.points ?? 0, bytes: plan.bytes ?? 0 });
        // A run whose publish failed after its commit is completed here (nothing to do when listed).
        await publishToCatalog();
        // So is its purge (nothing to do when recorded for this commit).
        if (plan.purge) await purgeEmptied();
        enter('done');
        return result('skipped', {
          reason: skipReason(input, 'archived'),
          ...(purged ? { purge: purged } : {}),
        });
      }
      if (plan.status === 'empty') {
        enter('done');
        return result('skipped', {
          reason: skipReason(input, 'empty'),
        });
      }
      if (plan.status === 'dry-run') {
        progress.points = plan.points ?? 0;
        enter('done');
        return result('dry-run', {
          dryRun: plan.batches,
          ...(plan.wouldPurge !== undefined ? { wouldPurge: plan.wouldPurge } : {}),
        });
      }
      // A committed month with late series: only the batches added for them are new.
      const first = plan.firstBatch ?? 1;
      if (first > 1) progress.lateBatches = plan.batchCount - first + 1;
      resume = {
        phase: 'export',
        next: first,
        batchConcurrency: plan.batchConcurrency ?? 1,
        deleteConcurrency: plan.deleteConcurrency ?? 1,
        ...(plan.pipelined && first === 1 ? { pipelined: true } : {}),
        progress,
        rechecks: 0,
        firstOfRound: first,
        ...(plan.reopened?.length ? { reopened: plan.reopened } : {}),
        ...(plan.purge ? { purge: true } : {}),
      };
    }

    let budget = BATCH_STEPS_PER_RUN;
    // A rerun of a committed month: batches whose series hold points again are deleted again first
    // (guarded: what is new in them is archived as their supplement before).
    if (resume.reopened?.length) {
      enter('delete');
      const todo = resume.reopened;
      const stop = await forBatches(0, todo.length - 1, resume.deleteConcurrency, budget, async (i) => {
        const b = todo[i] as number;
        try {
          await guardedDelete(b);
        } catch (err) {
          failedBatch ??= b;
          throw err;
        }
      });
      budget -= stop;
      resume = { ...resume, reopened: todo.slice(stop) };
      if (stop < todo.length)
        await continueAsNew<typeof archive>({ ...input, resume: { ...resume, progress } });
    }
    for (;;) {
      if (resume.pipelined) {
        // Batch after batch, each exported, verified and deleted (guarded) in its lane: the deletes,
        // which wait on Warp 10's disk, overlap the next batches' exports, which use its CPU. Shown as
        // export until every batch is exported, then as delete.
        if (progress.phase !== 'export' && progress.phase !== 'delete') enter('export');
        const first = resume.next;
        // The other lanes wait for the first batch's export: two exports at once share Warp 10's CPU,
        // and the first delete would start later. (Runs recorded before this change replay without it.)
        let firstExported = !patched('pipeline-first-export-alone');
        const stop = await forBatches(
          first,
          progress.batches,
          resume.batchConcurrency,
          budget / 3,
          async (b) => {
            let phase: BatchPhase = 'export';
            try {
              if (b !== first) await condition(() => firstExported);
              if (failedBatch !== undefined) return;
              for (phase of PHASES) {
                await steps[phase](b);
                if (b === first) firstExported = true;
                if (phase === 'export' && progress.exported >= progress.batches) enter('delete');
              }
            } catch (err) {
              failedBatch ??= b;
              failedStep ??= phase;
              firstExported = true; // the waiting lanes see the failure and take nothing more
              throw err;
            }
          },
        );
        budget -= 3 * (stop - first);
        if (stop <= progress.batches) {
          await continueAsNew<typeof archive>({
            ...input,
            resume: { ...resume, next: stop, progress, ...(await stagedSoFar()) },
          });
        }
      }
      for (const phase of resume.pipelined ? [] : PHASES.slice(PHASES.indexOf(resume.phase))) {
        if (progress.phase !== phase) enter(phase);
        const first = phase === resume.phase ? resume.next : (resume.firstOfRound ?? 1);
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
            resume: { ...resume, phase, next: stop, progress, ...(await stagedSoFar()) },
          });
        }
      }
      // Series that got data into the month after the plan (new ones, or ones whose batch is already
      // deleted): archived in batches of their own before the month is committed.
      if ((resume.rechecks ?? 0) >= RECHECKS_PER_RUN) break;
      enter('recheck');
      const late = await warp10.recheckMonth.executeWithOptions(
        { summary: `recheck ${month} for late series` },
        [{ ...datasetRef(input), knownBatches: progress.batches, newSeriesOnly: true }],
      );
      resume = { ...resume, rechecks: (resume.rechecks ?? 0) + 1 };
      if (late.batchCount <= progress.batches) break;
      const firstNew = progress.batches + 1;
      progress.lateBatches += late.batchCount - progress.batches;
      progress.batches = late.batchCount;
      progress.series += late.series;
      resume = {
        ...resume,
        phase: 'export',
        next: firstNew,
        firstOfRound: firstNew,
        // Late series' batches name series one by one: phase after phase, as any small dataset.
        pipelined: false,
        deleteConcurrency: late.deleteConcurrency ?? resume.deleteConcurrency,
      };
    }

    enter('commit');
    const info = workflowInfo();
    const index = staged ? await staged : undefined;
    const committed = await store.commitMonth.executeWithOptions(
      { summary: ui.commitSummary(input, progress.batches) },
      [
        {
          group,
          dataset,
          month,
          workflowId: info.workflowId,
          runId: info.runId,
          ...(index ? { staged: index } : {}),
        },
      ],
    );
    // Queries find the month through the catalog (docs/ARCHIVE-LAYOUT.md#the-catalog).
    await publishToCatalog();
    if (resume.purge) await purgeEmptied();
    // A month committed before (late data archived since) reports what this run added to it.
    const counted = committed.revision > 1 ? committed.added : committed;
    Object.assign(progress, { series: counted.series, points: counted.points, bytes: counted.bytes });
    enter('done');
    return result('archived', purged ? { purge: purged } : {});
  } catch (err) {
    // Continuing as new is how a long run goes on, not a failure to compensate.
    if (isCancellation(err) || err instanceof ContinueAsNew) throw err;
    const failedPhase = failedStep ?? progress.phase;
    enter('failed');
    // An index being staged is stored before the compensation, which removes it.
    const index = staged ? await staged : undefined;
    // Refused before anything was done (the month is inside its lateness): nothing to compensate,
    // nothing to record; whoever started the run hears why.
    if (!refusedAtOnce(err))
      await startFailureWorkflow(input, failedPhase, failedBatch, progress.batches, err, index?.key);
    throw err;
  }
}

/** The dataset-month an activity needs (never the resume state). */
const datasetRef = ({ group, dataset, month, selector, seriesPerBatch, batchConcurrency }: ArchiveInput) => ({
  group,
  dataset,
  month,
  selector,
  seriesPerBatch,
  batchConcurrency,
});

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

const refusedAtOnce = (err: unknown) =>
  err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'TooEarly';

/** Starts the compensating workflow; abandoned so it outlives this failed run. */
async function startFailureWorkflow(
  input: ArchiveInput,
  phase: ArchivePhase,
  batch: number | undefined,
  batchCount: number,
  err: unknown,
  stagedIndex: string | undefined,
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
    ...(stagedIndex ? { stagedIndex } : {}),
  };
  await startChild('archiveFailure', {
    args: [failure],
    workflowId: failureWorkflowId(input, info.runId),
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: ui.failureSummary(failure),
  });
}

export { archiveWorkflowId };
