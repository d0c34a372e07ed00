// Recheck: series written into the month since its plan get batches of their own, before the commit
// and in reruns of a committed month.
import type { MonthRef } from '../../archive/layout.ts';
import type { PartitionBatch } from '../../archive/manifest.ts';
import { parseSeriesName } from '../../archive/series-name.ts';
import type { Selector } from '../../config/schema.ts';
import type { ArchiveStore } from '../../store/types.ts';
import { coveringRegex, inPartition } from '../../warp10/partitions.ts';
import { toFailure } from '../failures.ts';
import { appendBatches, batchSize, readPlanBatch, requirePlanHead, type PlanHead } from '../plan-store.ts';
import { PLAN_PAGE, findAll, isNested, labelCount, listLive, liveRead } from './live.ts';
import { datasetOf, readBatch, writeBatch, type DatasetMonth, type Warp10ActivityDeps } from './shared.ts';

export type RecheckInput = DatasetMonth & {
  knownBatches: number;
  /** Inside a run, right after its deletes: look only for series missing from the plan. */
  newSeriesOnly?: boolean;
};

export interface RecheckResult {
  /** The plan's batch count now: more than before when late series were found. */
  batchCount: number;
  /** Series in the added batches. */
  series: number;
  deleteConcurrency?: number;
  /**
   * Batches of a committed month whose series hold points in it again (late points, or values rewritten
   * at archived ticks, after their delete): verified again, so their guarded delete archives what is
   * new in them as a supplement, newest value last, before deleting it. Only in a rerun of the month.
   */
  reopened?: number[];
}

/**
 * Looks for series holding points in the month that no batch still has to delete — new series, or
 * series whose batch is already deleted — and adds batches for them to the plan; in a rerun of a
 * committed month, a series of a deleted batch reopens that batch instead (`reopened`), so the point
 * it holds is compared with what the batch archived and a rewritten value is archived after the old
 * one. Idempotent: batches added by an attempt whose reply was lost (the plan has more than
 * `knownBatches`) are returned as is, and so are the batches it reopened.
 */
export async function recheckMonth(deps: Warp10ActivityDeps, input: RecheckInput): Promise<RecheckResult> {
  const { config, store } = deps;
  try {
    const plan = await requirePlanHead(store, input);
    if (plan.batchCount > input.knownBatches) {
      return {
        batchCount: plan.batchCount,
        series: plan.series - (await seriesIn(store, input, plan, input.knownBatches)),
        deleteConcurrency: 1,
        ...(input.newSeriesOnly ? {} : { reopened: await stillOpen(store, input, input.knownBatches) }),
      };
    }
    const dataset = datasetOf(config, input);
    let selectors = input.newSeriesOnly
      ? await newLiveSeries(deps, dataset.selector, input, plan)
      : await listLive(deps, dataset.selector, plan.range);
    let reopened: number[] | undefined;
    if (!input.newSeriesOnly) {
      const owners = await ownersOf(store, input, plan, selectors);
      selectors = selectors.filter((s) => !owners.has(s));
      reopened = await reopen(store, input, [...new Set(owners.values())]);
    }
    const more = reopened?.length ? { reopened } : {};
    if (selectors.length === 0) return { batchCount: plan.batchCount, series: 0, ...more };
    const added: string[][] = [];
    for (let i = 0; i < selectors.length; i += plan.seriesPerBatch) {
      added.push(selectors.slice(i, i + plan.seriesPerBatch));
    }
    const nested = isNested(selectors);
    const next = await appendBatches(store, input, plan, added, nested);
    return {
      batchCount: next.batchCount,
      series: selectors.length,
      deleteConcurrency: nested ? 1 : dataset.batchConcurrency,
      ...more,
    };
  } catch (err) {
    throw toFailure(err);
  }
}

/** The plan's batch of each selector it holds: listed in a batch, or matched by a partition's label. */
async function ownersOf(
  store: ArchiveStore,
  ref: MonthRef,
  plan: PlanHead,
  selectors: string[],
): Promise<Map<string, number>> {
  const owners = new Map<string, number>();
  if (selectors.length === 0) return owners;
  const wanted = new Set(selectors);
  const parts: [number, PartitionBatch][] = [];
  for (let b = 1; b <= plan.batchCount; b++) {
    const pb = await readPlanBatch(store, plan, ref, b);
    if (!Array.isArray(pb)) parts.push([b, pb]);
    else for (const s of pb) if (wanted.has(s)) owners.set(s, b);
  }
  if (parts.length > 0) {
    for (const s of selectors) {
      const value = parseSeriesName(s).labels[parts[0]![1].label];
      const owner = value === undefined ? undefined : parts.find(([, p]) => inPartition(value, p));
      if (owner) owners.set(s, owner[0]);
    }
  }
  return owners;
}

/** Deleted batches verified again (their objects are as verified): their guarded delete runs again. */
async function reopen(store: ArchiveStore, ref: MonthRef, batches: number[]): Promise<number[]> {
  const sorted = [...batches].sort((a, b) => a - b);
  for (const b of sorted) {
    const m = await readBatch(store, ref, b);
    if (m?.status === 'deleted') {
      await writeBatch(store, ref, b, { ...m, status: 'verified', reopenedAt: new Date().toISOString() });
    }
  }
  return sorted;
}

/** Batches 1..`count` not deleted: those an earlier attempt reopened. */
async function stillOpen(store: ArchiveStore, ref: MonthRef, count: number): Promise<number[]> {
  const open: number[] = [];
  for (let b = 1; b <= count; b++) if ((await readBatch(store, ref, b))?.status !== 'deleted') open.push(b);
  return open;
}

/** Series in batches 1..`count` of the plan. */
async function seriesIn(store: ArchiveStore, ref: MonthRef, plan: PlanHead, count: number) {
  let n = 0;
  for (let b = 1; b <= count; b++) n += batchSize(await readPlanBatch(store, plan, ref, b));
  return n;
}

/**
 * The dataset's series missing from the plan that hold data in the month (late series, written since
 * the plan): listed by their metadata, then only they are read. The plan's series are never read here:
 * right after their delete, reading them walks every deleted point's tombstone (minutes for a few
 * million points). Late points in them are the guarded delete's business, or a later rerun's.
 */
async function newLiveSeries(
  deps: Warp10ActivityDeps,
  selector: Selector,
  ref: MonthRef,
  plan: PlanHead,
): Promise<string[]> {
  const { store } = deps;
  const planned = new Set<string>();
  const parts: PartitionBatch[] = [];
  for (let b = 1; b <= plan.batchCount; b++) {
    const pb = await readPlanBatch(store, plan, ref, b);
    if (Array.isArray(pb)) for (const s of pb) planned.add(s);
    else parts.push(pb);
  }
  // A series a partition's selector matches is that batch's: its guarded delete saw it. Warp 10 leaves
  // those out of the listing (the partitions of a plan all split its one label, `plan.partitions`).
  const exclude = parts[0] && { label: parts[0].label, regex: coveringRegex(parts) };
  const fresh = new Set<string>();
  for (const sel of await findAll(deps, selector, exclude)) if (!planned.has(sel)) fresh.add(sel);

  const live: string[] = [];
  const unplanned = [...fresh];
  for (let i = 0; i < unplanned.length; i += PLAN_PAGE) {
    const chunk = unplanned.slice(i, i + PLAN_PAGE);
    const counts = await liveRead(deps, chunk, plan.range);
    for (const sel of chunk) if ((counts.get(sel)?.[1] ?? 0) > 0) live.push(sel);
  }
  return live.sort((a, b) => labelCount(b) - labelCount(a));
}
