// Plan: the dataset-month's series frozen in batches (plan.json), or by label prefix for a large
// dataset; a committed month is rechecked for late series instead.
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { batchObjectKey, monthManifestKey } from '../../archive/layout.ts';
import {
  MonthManifestSchema,
  type MonthRange,
  type PartitionBatch,
  type PlanBatch,
} from '../../archive/manifest.ts';
import type { OffloadConfig } from '../../config/schema.ts';
import { settledAt } from '../../month.ts';
import {
  buildPartitions,
  choosePartitionLabel,
  partitionSelector,
  selectorLabels,
  selectorString,
} from '../../warp10/partitions.ts';
import { nonRetryable, toFailure } from '../failures.ts';
import { batchSize, readPlanBatch, readPlanHead, writePlan, type PlanHead } from '../plan-store.ts';
import { readJson } from '../store-json.ts';
import { findAll, isNested, listLive, liveRead, partitionRead } from './live.ts';
import { purgeDryRun } from './purge.ts';
import { recheckMonth } from './recheck.ts';
import { datasetOf, lastUs, rangeOf, type DatasetMonth, type Warp10ActivityDeps } from './shared.ts';

export interface PlanResult {
  /** empty: no series of the dataset holds a point in the month; nothing was written. */
  status: 'archived' | 'planned' | 'dry-run' | 'empty';
  batchCount: number;
  series: number;
  /** Batches of this dataset in flight at once (the dataset's configuration at plan time). */
  batchConcurrency?: number;
  /** The same for deletes: 1 when some series extend others (more labels), which go first. */
  deleteConcurrency?: number;
  /**
   * Each batch deleted as soon as it is verified, while the next ones export (a partitioned plan: its
   * batches are disjoint, and Warp 10's deletes wait on the disk while its reads use the CPU).
   */
  pipelined?: boolean;
  points?: number;
  bytes?: number;
  /** Dry run only: what would be archived and deleted, batch by batch. */
  batches?: { batch: number; series: number; points: number; object: string }[];
  /** The first batch to work on: after the committed ones when a committed month got late series. */
  firstBatch?: number;
  /** Committed batches whose series hold points again: their guarded delete runs again first. */
  reopened?: number[];
  /** The dataset purges the metadata of series the month leaves empty (`purgeEmptySeries`). */
  purge?: boolean;
  /** Dry run of such a dataset: its series with no point outside the month, which the purge would remove. */
  wouldPurge?: number;
}

export type PlanInput = DatasetMonth & { dryRun?: boolean; ignoreLateness?: boolean };

/** Datasets of at least this many series are batched by label prefix (see src/warp10/partitions.ts). */
export const PARTITION_MIN_SERIES = 10_000;
/**
 * A partition batch names at most this many series, whatever its points. Its requests use list functions
 * only (archive-read-partition.mc2, the wrap-digest guard of archive-delete-partition.mc2,
 * archive-encode.mc2): their Warp 10 operations do not grow with its series
 * (test/warp10/ops-budget.test.ts), so batches are sized by points (`pointsPerBatch`); this bound keeps
 * one request's WRAPs (about 100 bytes a series of a point) in tens of megabytes when series hold few
 * points.
 */
export const PARTITION_MAX_SERIES = 100_000;
/**
 * A partitioned month has at least this many batches however few its points: its batches are pipelined
 * (each deleted while the next exports), so a month of one batch would run its export and its delete
 * one after the other.
 */
export const PARTITION_MIN_BATCHES = 4;
/** Series the plan of a large dataset reads to size its batches by points. */
const SAMPLE_SERIES = 1_000;

/** Lists the dataset's series with data in the month and freezes them, in batches, as plan.json. */
export async function planMonth(deps: Warp10ActivityDeps, input: PlanInput): Promise<PlanResult> {
  const { config, store } = deps;
  try {
    if (!input.dryRun) assertSettled(config, input.month, input.ignoreLateness);
    const dataset = datasetOf(config, input);
    const done = await readJson(store, monthManifestKey(input), MonthManifestSchema);
    if (done) {
      const archived: PlanResult = {
        status: 'archived',
        batchCount: done.batches.length,
        series: done.series,
        points: done.points,
        bytes: done.bytes,
      };
      if (dataset.purgeEmptySeries) archived.purge = true;
      if (input.dryRun) return archived;
      // A committed month is checked for points written into it since: those are archived in batches
      // of their own, then deleted, and the month committed again.
      const late = await recheckMonth(deps, { ...input, knownBatches: done.batches.length });
      if (late.batchCount === done.batches.length && !late.reopened?.length) return archived;
      return {
        status: 'planned',
        batchCount: late.batchCount,
        series: late.series,
        firstBatch: done.batches.length + 1,
        batchConcurrency: dataset.batchConcurrency,
        ...(dataset.purgeEmptySeries ? { purge: true } : {}),
        deleteConcurrency: late.deleteConcurrency,
        ...(late.reopened?.length ? { reopened: late.reopened } : {}),
      };
    }
    // A frozen plan is never recomputed: batches already deleted would vanish from a new one.
    let plan = await readPlanHead(store, input);
    let fresh: PlanBatch[] | undefined;
    if (!plan) {
      const range = rangeOf(input.month, config.timezone);
      // A large dataset (custom templates aside: they name series) goes by partitions when it has a
      // label to split on; the listing stops as soon as the dataset is known to be large.
      const stopAt = dataset.templates ? undefined : PARTITION_MIN_SERIES;
      const listed = await listLive(deps, dataset.selector, range, stopAt);
      const large = listed ? undefined : await planPartitions(deps, dataset, range);
      const selectors = large || listed ? (listed ?? []) : await listLive(deps, dataset.selector, range);
      // Nothing committed for an empty month: a mistyped selector fixed later must still find it
      // unarchived, and a month whose data arrives later is archived then.
      if (!large && selectors!.length === 0 && !input.dryRun) {
        return { status: 'empty', batchCount: 0, series: 0 };
      }
      const nested = large ? false : isNested(selectors!);
      const batches: PlanBatch[] = large?.batches ?? [];
      for (let i = 0; !large && i < selectors!.length; i += dataset.seriesPerBatch) {
        batches.push(selectors!.slice(i, i + dataset.seriesPerBatch));
      }
      const head = {
        format: 'warp10-offloader/plan@1' as const,
        group: input.group,
        dataset: input.dataset,
        month: input.month,
        range,
        selector: { class: dataset.selector.class, labels: dataset.selector.labels },
        seriesPerBatch: dataset.seriesPerBatch,
        nested,
        ...(large ? { partitions: large.partitions } : {}),
        createdAt: new Date().toISOString(),
      };
      if (input.dryRun) {
        fresh = batches;
        plan = {
          ...head,
          batches,
          batchCount: batches.length,
          series: batches.reduce((n, b) => n + batchSize(b), 0),
          batchesPerPage: Math.max(1, batches.length),
        };
      } else plan = await writePlan(store, input, head, batches);
    }
    const planned = {
      batchCount: plan.batchCount,
      series: plan.series,
      batchConcurrency: dataset.batchConcurrency,
      // Plans written before this flag may nest: their deletes keep the plan's order.
      deleteConcurrency: plan.nested === false ? dataset.batchConcurrency : 1,
      ...(plan.partitions ? { pipelined: true } : {}),
      ...(dataset.purgeEmptySeries ? { purge: true } : {}),
    };
    if (!input.dryRun) return { status: 'planned', ...planned };

    // Dry run: count what each batch would archive and delete; nothing is written.
    const batches: NonNullable<PlanResult['batches']> = [];
    for (let b = 1; b <= plan.batchCount; b++) {
      const pb = fresh ? fresh[b - 1]! : await readPlanBatch(store, plan, input, b);
      const live = Array.isArray(pb)
        ? await liveRead(deps, pb, plan.range)
        : await partitionRead(deps, pb, plan.range);
      const points = [...live.values()].reduce((n, item) => n + item[1], 0);
      const series = Array.isArray(pb) ? pb.length : live.size;
      batches.push({ batch: b, series, points, object: batchObjectKey(input, b) });
      heartbeat({ counted: b });
    }
    return {
      status: 'dry-run',
      ...planned,
      points: batches.reduce((n, b) => n + b.points, 0),
      batches,
      ...(dataset.purgeEmptySeries
        ? { wouldPurge: await purgeDryRun(deps, { ...input, ...plan.range }) }
        : {}),
    };
  } catch (err) {
    throw toFailure(err);
  }
}

/**
 * The plan of a large dataset: its series by metadata, the label to split on, a sample read to size
 * batches by points, then partitions of at most that many series, each named by one selector.
 * Undefined when no label is present in every series, or the sample found no data (then the caller
 * lists the month's series one by one, as for a small dataset).
 */
async function planPartitions(
  deps: Warp10ActivityDeps,
  dataset: ReturnType<typeof datasetOf>,
  range: MonthRange,
): Promise<{ batches: PartitionBatch[]; partitions: NonNullable<PlanHead['partitions']> } | undefined> {
  const all = await findAll(deps, dataset.selector);
  const labels: Map<string, string>[] = [];
  for (const sel of all) {
    const l = selectorLabels(sel);
    if (!l) return undefined;
    labels.push(l);
  }
  const label = choosePartitionLabel(labels, dataset.selector);
  if (label === undefined) return undefined;
  const [sample] = await deps.runner.run<[{ sampled: number; live: number; points: number }]>(
    'archive-sample',
    {
      token: deps.tokens.read,
      selector: selectorString(dataset.selector),
      start: range.startUs,
      end: lastUs(range),
      gcount: SAMPLE_SERIES,
    },
    cancellationSignal(),
  );
  if (sample.live === 0) return undefined;
  const pointsPerSeries = sample.points / sample.live;
  const liveShare = sample.live / Math.max(1, sample.sampled);
  const maxSeries = Math.min(
    PARTITION_MAX_SERIES,
    Math.ceil(all.length / PARTITION_MIN_BATCHES),
    Math.max(1, Math.floor(dataset.pointsPerBatch / (pointsPerSeries * liveShare))),
  );
  const specs = buildPartitions(
    labels.map((l) => l.get(label)!),
    maxSeries,
  );
  return {
    batches: specs.map((spec) => ({
      selector: partitionSelector(dataset.selector, label, spec),
      label,
      prefixes: spec.prefixes,
      exact: spec.exact,
      series: spec.series,
    })),
    partitions: { label, pointsPerBatch: dataset.pointsPerBatch, pointsPerSeries, liveShare },
  };
}

/** Refuses a month whose end plus the configured lateness is still ahead: late points may still come. */
function assertSettled(config: OffloadConfig, month: string, ignore?: boolean) {
  if (ignore) return;
  const settled = settledAt(config, month);
  if (Date.now() < settled.getTime()) {
    throw nonRetryable(
      'TooEarly',
      `${month} ended at ${rangeOf(month, config.timezone).endIso} and late points may still arrive ` +
        `until ${settled.toISOString()} (lateData.lateness: ${config.lateData.lateness}); archive it after ` +
        'that, or pass --ignore-lateness to archive it now',
    );
  }
}
