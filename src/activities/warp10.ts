// Activities that talk to Warp 10: plan a dataset-month, export a batch into the store, verify it against
// the live data, and the guarded delete. Every step is idempotent through the state kept in the store,
// so a retry or a rerun after a crash resumes instead of redoing.
import { createHash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { gzipLines } from '../archive/lines.ts';
import {
  batchManifestKey,
  batchObjectKey,
  monthManifestKey,
  supplementObjectKey,
  type MonthRef,
} from '../archive/layout.ts';
import {
  BatchManifestSchema,
  MonthManifestSchema,
  type BatchManifest,
  type MonthRange,
  type PartitionBatch,
  type PlanBatch,
  type SeriesEntry,
  type Supplement,
} from '../archive/manifest.ts';
import type { OffloadConfig, Selector } from '../config/schema.ts';
import { findDataset } from '../config/load.ts';
import { monthRange, settledAt } from '../month.ts';
import type { ArchiveStore } from '../store/types.ts';
import { groupSelectors } from '../warp10/selectors.ts';
import {
  buildPartitions,
  choosePartitionLabel,
  inPartition,
  partitionSelector,
  selectorLabels,
  selectorString,
} from '../warp10/partitions.ts';
import { topListItems } from '../warp10/json-stream.ts';
import type { FeedingRunner, WarpScriptRunner } from '../warp10/runner.ts';
import { nonRetryable, toFailure } from './failures.ts';
import { keepAlive } from './keep-alive.ts';
import {
  appendBatches,
  batchSize,
  readPlanBatch,
  readPlanHead,
  requirePlanHead,
  writePlan,
  type PlanHead,
} from './plan-store.ts';
import { readJson, writeJson } from './store-json.ts';

export interface Warp10ActivityDeps {
  config: OffloadConfig;
  store: ArchiveStore;
  runner: WarpScriptRunner;
  tokens: { read: string; write: string };
}

/** Which dataset-month; `selector` is set for datasets found by discovery (not in the config file). */
export interface DatasetMonth extends MonthRef {
  selector?: Selector;
  seriesPerBatch?: number;
  batchConcurrency?: number;
}

export interface PlanResult {
  /** empty: no series of the dataset holds a point in the month; nothing was written. */
  status: 'archived' | 'planned' | 'dry-run' | 'empty';
  batchCount: number;
  series: number;
  /** Batches of this dataset in flight at once (the dataset's configuration at plan time). */
  batchConcurrency?: number;
  /** The same for deletes: 1 when some series extend others (more labels), which go first. */
  deleteConcurrency?: number;
  points?: number;
  bytes?: number;
  /** Dry run only: what would be archived and deleted, batch by batch. */
  batches?: { batch: number; series: number; points: number; object: string }[];
  /** The first batch to work on: after the committed ones when a committed month got late series. */
  firstBatch?: number;
}

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
}

export interface BatchResult {
  batch: number;
  skipped: boolean;
  series: number;
  points: number;
  bytes: number;
}

/** Series listed per plan request: bounded so a page stays far under Warp 10's fetch limits. */
const PLAN_PAGE = 5_000;
/** Series listed per metadata-only request (FIND): no point is read, so pages can be larger. */
const FIND_PAGE = 50_000;
/** Datasets of at least this many series are batched by label prefix (see src/warp10/partitions.ts). */
export const PARTITION_MIN_SERIES = 10_000;
/** A partition batch names at most this many series, whatever its points: requests stay bounded. */
const PARTITION_MAX_SERIES = 100_000;
/** Series the plan of a large dataset reads to size its batches by points. */
const SAMPLE_SERIES = 1_000;
const HEARTBEAT_EVERY = 200;
const WRITE_CHUNK = 256 * 1024;

function rangeOf(month: string, timezone: string): MonthRange {
  const r = monthRange(month, timezone);
  return {
    timezone,
    startIso: r.startIso,
    endIso: r.endIso,
    startUs: Number(r.startUs),
    endUs: Number(r.endUs),
  };
}

/** Warp 10 reads and deletes [start, end] inclusive on both ends: the month [S, E) is S..E-1. */
const lastUs = (r: MonthRange) => r.endUs - 1;

/** A series as a script reports it: selector, points, first and last tick in the range. */
type Counts = [string, number, number | null, number | null];
type ReadItem = [...Counts, string | null];

const isCounts = (x: unknown): x is Counts =>
  Array.isArray(x) &&
  typeof x[0] === 'string' &&
  typeof x[1] === 'number' &&
  (x[2] === null || typeof x[2] === 'number') &&
  (x[3] === null || typeof x[3] === 'number');

const unexpected = (what: string, x: unknown) =>
  nonRetryable('WarpScriptError', `unexpected item in a ${what} reply: ${JSON.stringify(x).slice(0, 200)}`);

function asReadItem(x: unknown): ReadItem {
  const wrapped: unknown = Array.isArray(x) ? x[4] : undefined;
  if (!isCounts(x) || !(wrapped === null || typeof wrapped === 'string')) throw unexpected('read', x);
  return [x[0], x[1], x[2], x[3], wrapped];
}

export type PlanInput = DatasetMonth & { dryRun?: boolean; ignoreLateness?: boolean };

/** Which batch of a dataset-month. */
export type BatchRef = MonthRef & { batch: number };

/** `late`: series whose live data differs from the archive (nothing was deleted then). */
export type DeleteResult = BatchResult & { deleted: number; alreadyGone: number; late: string[] };

/**
 * The activities, in the order a dataset-month goes through them. Each phase is a function of this
 * module taking its dependencies; keepAlive heartbeats while Warp 10 works on a long request.
 */
export function createWarp10Activities(deps: Warp10ActivityDeps) {
  return {
    async planMonth(input: PlanInput): Promise<PlanResult> {
      return keepAlive(() => planMonth(deps, input));
    },
    async exportBatch(input: BatchRef): Promise<BatchResult> {
      return keepAlive(
        () => exportBatch(deps, input),
        () => ({ batch: input.batch }),
      );
    },
    async verifyBatch(input: BatchRef): Promise<BatchResult> {
      return keepAlive(
        () => verifyBatch(deps, input),
        () => ({ batch: input.batch }),
      );
    },
    async deleteBatch(input: BatchRef): Promise<DeleteResult> {
      return keepAlive(
        () => deleteBatch(deps, input),
        () => ({ batch: input.batch }),
      );
    },
    async recheckMonth(input: RecheckInput): Promise<RecheckResult> {
      return keepAlive(() => recheckMonth(deps, input));
    },
    async archiveLateData(input: BatchRef & { series: string[] }): Promise<LateResult> {
      return keepAlive(
        () => archiveLateData(deps, input),
        () => ({ batch: input.batch }),
      );
    },
  };
}

export type Warp10Activities = ReturnType<typeof createWarp10Activities>;

/** Lists the dataset's series with data in the month and freezes them, in batches, as plan.json. */
async function planMonth(deps: Warp10ActivityDeps, input: PlanInput): Promise<PlanResult> {
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
      if (input.dryRun) return archived;
      // A committed month is checked for points written into it since: those are archived in batches
      // of their own, then deleted, and the month committed again.
      const late = await recheckMonth(deps, { ...input, knownBatches: done.batches.length });
      if (late.batchCount === done.batches.length) return archived;
      return {
        status: 'planned',
        batchCount: late.batchCount,
        series: late.series,
        firstBatch: done.batches.length + 1,
        batchConcurrency: dataset.batchConcurrency,
        deleteConcurrency: late.deleteConcurrency,
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
    };
  } catch (err) {
    throw toFailure(err);
  }
}

/** Streams the batch's series (WRAPped, one a line, gzip) from Warp 10 into the store. */
async function exportBatch(deps: Warp10ActivityDeps, input: BatchRef): Promise<BatchResult> {
  const { config, store, runner, tokens } = deps;
  const { batch } = input;
  try {
    const existing = await readBatch(store, input, batch);
    if (existing) {
      const head = await store.head(existing.object.key);
      if (head && head.bytes === existing.object.bytes) {
        return {
          batch,
          skipped: true,
          series: existing.series.length,
          points: existing.points,
          bytes: existing.object.bytes,
        };
      }
    }
    const plan = await requirePlanHead(store, input);
    const pb = await readPlanBatch(store, plan, input, batch);
    // A partition batch is every series its one selector matches with data in the month.
    const part = Array.isArray(pb) ? undefined : pb;
    const selectors = part ? [] : (pb as string[]);
    const dataset = findDatasetTemplates(config, input);
    const started = Date.now();
    const seen = new Map<string, SeriesEntry>();
    const wanted = new Set(selectors);
    const body = await runner.stream(
      (!part && dataset?.export) || 'archive-read',
      {
        token: tokens.read,
        selectors,
        fetch: part ? [part.selector] : fetchSelectors(selectors),
        start: plan.range.startUs,
        end: lastUs(plan.range),
        wrap: true,
        ...(part ? { all: true } : {}),
      },
      cancellationSignal(),
    );
    // Lines go to gzip in chunks of ~256 KiB: one write per series (tens of thousands of small
    // ones) cost the worker more CPU than parsing the reply.
    async function* lines(): AsyncGenerator<string> {
      let chunk: string[] = [];
      let size = 0;
      for await (const raw of topListItems(body)) {
        const [selector, points, first, last, wrapped] = asReadItem(raw);
        if ((!part && !wanted.has(selector)) || seen.has(selector)) continue;
        seen.set(selector, { selector, points, first, last });
        if (points > 0) {
          if (!wrapped)
            throw nonRetryable('WarpScriptError', `series ${selector} came back without data`, batch);
          chunk.push(`${wrapped}\n`);
          size += wrapped.length + 1;
          if (size >= WRITE_CHUNK) {
            yield chunk.join('');
            [chunk, size] = [[], 0];
          }
        }
        if (seen.size % HEARTBEAT_EVERY === 0) heartbeat({ batch, series: seen.size });
      }
      if (chunk.length > 0) yield chunk.join('');
    }
    const gzip = createGzip();
    // pipeline() destroys the gzip stream with the source's error, so a failing read fails the put.
    pipeline(Readable.from(lines()), gzip, () => {});
    const object = await store.put(batchObjectKey(input, batch), gzip, {
      contentType: 'application/gzip',
    });
    const series = part
      ? [...seen.values()].filter((s) => s.points > 0)
      : selectors.map((s) => seen.get(s) ?? { selector: s, points: 0, first: null, last: null });
    const manifest: BatchManifest = {
      format: 'warp10-offloader/batch@1',
      group: input.group,
      dataset: input.dataset,
      month: input.month,
      batch,
      range: plan.range,
      object,
      ...(part ? { partition: { selector: part.selector } } : {}),
      series,
      points: series.reduce((n, s) => n + s.points, 0),
      status: 'exported',
      exportedAt: new Date().toISOString(),
      exportMs: Date.now() - started,
    };
    await writeBatch(store, input, batch, manifest);
    return { batch, skipped: false, series: series.length, points: manifest.points, bytes: object.bytes };
  } catch (err) {
    throw toFailure(err, batch);
  }
}

/**
 * Re-reads the stored object (checksum, one line per series with data), then checks that the live
 * data of the batch in Warp 10 is still exactly what was archived.
 */
async function verifyBatch(deps: Warp10ActivityDeps, input: BatchRef): Promise<BatchResult> {
  const { store } = deps;
  const { batch } = input;
  try {
    const m = await readBatch(store, input, batch);
    if (!m) throw nonRetryable('NotVerified', `batch ${batch} was never exported`, batch);
    const result = { batch, series: m.series.length, points: m.points, bytes: m.object.bytes };
    if (m.status !== 'exported') return { ...result, skipped: true };

    // One pass over the stored object: its checksum and its lines, as read back from the store.
    const { sha256: sha, lines, unreadable } = await readBack(await store.get(m.object.key));
    if (unreadable) {
      throw nonRetryable(
        'ArchiveCorrupt',
        `batch ${batch}: ${m.object.key} is not a readable gzip stream (${unreadable})`,
        batch,
      );
    }
    if (sha !== m.object.sha256) {
      throw nonRetryable(
        'ArchiveCorrupt',
        `batch ${batch}: ${m.object.key} checksum ${sha} differs from the manifest's ${m.object.sha256}`,
        batch,
      );
    }
    const withData = m.series.filter((s) => s.points > 0).length;
    if (lines !== withData) {
      throw nonRetryable(
        'ArchiveCorrupt',
        `batch ${batch}: ${m.object.key} holds ${lines} series, the manifest ${withData}`,
        batch,
      );
    }
    // The live data is compared with this manifest by the guarded delete, in the same request as the
    // DELETE: a second full read of the month here would only cost the cluster another pass.
    await writeBatch(store, input, batch, {
      ...m,
      status: 'verified',
      verifiedAt: new Date().toISOString(),
    });
    return { ...result, skipped: false };
  } catch (err) {
    throw toFailure(err, batch);
  }
}

/** The guarded delete (see archive-delete.mc2): only a verified batch, only its series and month. */
async function deleteBatch(deps: Warp10ActivityDeps, input: BatchRef): Promise<DeleteResult> {
  const { config, store, runner, tokens } = deps;
  const { batch } = input;
  try {
    const m = await readBatch(store, input, batch);
    if (!m || m.status === 'exported') {
      throw nonRetryable('NotVerified', `batch ${batch} is not verified; refusing to delete`, batch);
    }
    const result = { batch, series: m.series.length, points: m.points, bytes: m.object.bytes };
    if (m.status === 'deleted') {
      return {
        ...result,
        skipped: true,
        deleted: m.deleted?.deleted ?? 0,
        alreadyGone: m.deleted?.alreadyGone ?? 0,
        late: [],
      };
    }
    const expected = expectedLive(m).map((s) => [s.selector, s.points, s.first, s.last]);
    let outcome = { deleted: 0, alreadyGone: 0, checked: 0, changed: [] as unknown[] };
    if (m.partition) {
      // One selector matching this batch's series only: checked and deleted in one request.
      [outcome] = await runner.run<[typeof outcome]>(
        'archive-delete-partition',
        {
          readToken: tokens.read,
          writeToken: tokens.write,
          selector: m.partition.selector,
          expected,
          start: m.range.startUs,
          end: lastUs(m.range),
        },
        cancellationSignal(),
      );
    } else if (expected.length > 0) {
      const groups = groupSelectors(expected.map((e) => e[0] as string)).map((g) => [g.selector, g.members]);
      [outcome] = await runner.run<[typeof outcome]>(
        findDatasetTemplates(config, input)?.delete ?? 'archive-delete',
        {
          readToken: tokens.read,
          writeToken: tokens.write,
          expected,
          groups,
          start: m.range.startUs,
          end: lastUs(m.range),
        },
        cancellationSignal(),
      );
    }
    // Late data: nothing was deleted; the workflow archives what is new, then deletes again.
    const late = (outcome.changed ?? []).map((c) => {
      if (!isCounts(c)) throw unexpected('delete', c);
      return c[0];
    });
    if (late.length > 0) return { ...result, skipped: false, deleted: 0, alreadyGone: 0, late };
    const { changed: _, ...counts } = outcome;
    await writeBatch(store, input, batch, {
      ...m,
      status: 'deleted',
      deletedAt: new Date().toISOString(),
      deleted: counts,
    });
    return { ...result, skipped: false, deleted: counts.deleted, alreadyGone: counts.alreadyGone, late: [] };
  } catch (err) {
    throw toFailure(err, batch);
  }
}

/**
 * What the guarded delete expects live of each series with data: its export, or what Warp 10 held of
 * it when its latest supplement was taken (all of which is archived by then).
 */
export function expectedLive(m: BatchManifest): SeriesEntry[] {
  const bySelector = new Map(m.series.map((s) => [s.selector, s]));
  for (const sup of m.supplements ?? []) for (const l of sup.live) bySelector.set(l.selector, l);
  return [...bySelector.values()].filter((s) => s.points > 0);
}

/**
 * Archives the late data of a verified batch: the points now live in `series` that none of the batch's
 * objects holds, as one more object of the batch (a supplement), read back and checked before the batch
 * manifest lists it. Only then may the guarded delete remove those points.
 */
async function archiveLateData(
  deps: Warp10ActivityDeps,
  input: BatchRef & { series: string[] },
): Promise<LateResult> {
  const { store, runner, tokens } = deps;
  const { batch } = input;
  try {
    const m = await readBatch(store, input, batch);
    if (!m || m.status !== 'verified') {
      throw nonRetryable('NotVerified', `batch ${batch} is ${m?.status ?? 'missing'}, not verified`, batch);
    }
    if (!isFedRunner(runner)) throw new Error('archiving late data needs a runner that can feed lines');
    const known = new Set(m.series.map((s) => s.selector));
    // A partition batch owns every series its selector matches, new ones included.
    const wanted = m.partition ? input.series : input.series.filter((s) => known.has(s));
    const objects = [m.object, ...(m.supplements ?? []).map((x) => x.object)];
    async function* archivedLines() {
      for (const o of objects) yield* gzipLines(await store.get(o.key));
    }
    const [rows] = await runner.runFed<[unknown[][]]>(
      'archive-late',
      {
        readToken: tokens.read,
        wanted: Object.fromEntries(wanted.map((s) => [s, true])),
        fetch: m.partition ? [m.partition.selector] : fetchSelectors(wanted),
        start: m.range.startUs,
        end: lastUs(m.range),
      },
      { items: archivedLines(), macro: 'series', end: 'finish' },
      cancellationSignal(),
    );
    const late = rows.map(asLateRow);
    const fresh = late.filter((r) => r.points > 0);
    const n = (m.supplements?.length ?? 0) + 1;
    const key = supplementObjectKey(input, batch, n);
    const gzip = createGzip();
    pipeline(Readable.from(fresh.map((r) => `${r.wrapped}\n`)), gzip, () => {});
    const object = await store.put(key, gzip, { contentType: 'application/gzip' });
    const back = await readBack(await store.get(key));
    if (back.sha256 !== object.sha256 || back.lines !== fresh.length) {
      throw new Error(`${key} read back differs from what was written: retrying`);
    }
    const supplement: Supplement = {
      object,
      series: fresh.map((r) => ({ selector: r.selector, points: r.points, first: r.first, last: r.last })),
      points: fresh.reduce((t, r) => t + r.points, 0),
      live: late.map((r) => r.live),
      exportedAt: new Date().toISOString(),
    };
    await writeBatch(store, input, batch, {
      ...m,
      supplements: [...(m.supplements ?? []), supplement],
    });
    return { batch, supplement: n, series: fresh.length, points: supplement.points, bytes: object.bytes };
  } catch (err) {
    throw toFailure(err, batch);
  }
}

export interface LateResult {
  batch: number;
  /** Which supplement of the batch this is (1, 2, ...). */
  supplement: number;
  series: number;
  points: number;
  bytes: number;
}

interface LateRow {
  selector: string;
  wrapped: string | null;
  points: number;
  first: number | null;
  last: number | null;
  live: SeriesEntry;
}

function asLateRow(x: unknown): LateRow {
  const ok =
    Array.isArray(x) &&
    x.length === 8 &&
    typeof x[0] === 'string' &&
    (x[1] === null || typeof x[1] === 'string') &&
    x.slice(2).every((v) => v === null || typeof v === 'number');
  if (!ok) {
    throw nonRetryable(
      'WarpScriptError',
      `unexpected item in a late-data reply: ${JSON.stringify(x).slice(0, 200)}`,
    );
  }
  const [selector, wrapped, points, first, last, live, liveFirst, liveLast] = x as [
    string,
    string | null,
    number,
    number | null,
    number | null,
    number,
    number,
    number,
  ];
  if (points > 0 && !wrapped)
    throw nonRetryable('WarpScriptError', `late points of ${selector} came back without data`);
  return {
    selector,
    wrapped,
    points,
    first,
    last,
    live: { selector, points: live, first: liveFirst, last: liveLast },
  };
}

const isFedRunner = (r: WarpScriptRunner): r is FeedingRunner =>
  typeof (r as FeedingRunner).runFed === 'function';

/**
 * Looks for series holding points in the month that no batch still has to delete — new series, or
 * series whose batch is already deleted — and adds batches for them to the plan. Idempotent: batches
 * added by an attempt whose reply was lost (the plan has more than `knownBatches`) are returned as is.
 */
async function recheckMonth(deps: Warp10ActivityDeps, input: RecheckInput): Promise<RecheckResult> {
  const { config, store } = deps;
  try {
    const plan = await requirePlanHead(store, input);
    if (plan.batchCount > input.knownBatches) {
      return {
        batchCount: plan.batchCount,
        series: plan.series - (await seriesIn(store, input, plan, input.knownBatches)),
        deleteConcurrency: 1,
      };
    }
    const dataset = datasetOf(config, input);
    const selectors = input.newSeriesOnly
      ? await newLiveSeries(deps, dataset.selector, input, plan)
      : await listLive(deps, dataset.selector, plan.range);
    if (selectors.length === 0) return { batchCount: plan.batchCount, series: 0 };
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
    };
  } catch (err) {
    throw toFailure(err);
  }
}

/** Series in batches 1..`count` of the plan. */
async function seriesIn(store: ArchiveStore, ref: MonthRef, plan: PlanHead, count: number) {
  let n = 0;
  for (let b = 1; b <= count; b++) n += batchSize(await readPlanBatch(store, plan, ref, b));
  return n;
}

/**
 * The series of a selector holding data in the range, series with more labels first: a selector also
 * matches the series holding more labels, so the guarded delete refuses a series while one that extends
 * it still has data outside its batch (AMBIGUOUS_SELECTOR). Planned first, those are deleted in an
 * earlier batch or the same one; when label counts differ, batches are deleted one after another.
 */
async function listLive(
  deps: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  selector: Selector,
  range: MonthRange,
): Promise<string[]>;
async function listLive(
  deps: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  selector: Selector,
  range: MonthRange,
  stopAt: number | undefined,
): Promise<string[] | undefined>;
/** With `stopAt`: undefined as soon as the dataset has that many series (listed by metadata). */
async function listLive(
  { runner, tokens }: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  selector: Selector,
  range: MonthRange,
  stopAt?: number,
): Promise<string[] | undefined> {
  const listed = new Set<string>();
  for (let gskip = 0; ; gskip += PLAN_PAGE) {
    if (stopAt !== undefined && gskip >= stopAt) return undefined;
    const [page] = await runner.run<[{ matched: number; selectors: string[] }]>(
      'archive-plan',
      {
        token: tokens.read,
        class: selector.class,
        labels: selector.labels,
        start: range.startUs,
        end: lastUs(range),
        gskip,
        gcount: PLAN_PAGE,
      },
      cancellationSignal(),
    );
    for (const sel of page.selectors) listed.add(sel);
    heartbeat({ listed: gskip + page.matched });
    if (page.matched < PLAN_PAGE) break;
  }
  return [...listed].sort((a, b) => labelCount(b) - labelCount(a));
}

/** Every series of the dataset by its metadata alone (no point read), in FIND_PAGE pages. */
async function findAll(
  { runner, tokens }: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  selector: Selector,
): Promise<string[]> {
  const found: string[] = [];
  for (let gskip = 0; ; gskip += FIND_PAGE) {
    const [page] = await runner.run<[{ matched: number; selectors: string[] }]>(
      'archive-find',
      { token: tokens.read, class: selector.class, labels: selector.labels, gskip, gcount: FIND_PAGE },
      cancellationSignal(),
    );
    for (const sel of page.selectors) found.push(sel);
    heartbeat({ found: gskip + page.matched });
    if (page.matched < FIND_PAGE) break;
  }
  return found;
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
  // A series a partition's selector matches is that batch's: its guarded delete saw it.
  const covered = (sel: string) => {
    if (parts.length === 0) return false;
    const labels = selectorLabels(sel);
    return parts.some((p) => {
      const v = labels?.get(p.label);
      return v !== undefined && inPartition(v, p);
    });
  };
  const fresh = new Set<string>();
  for (const sel of await findAll(deps, selector)) if (!planned.has(sel) && !covered(sel)) fresh.add(sel);

  const live: string[] = [];
  const unplanned = [...fresh];
  for (let i = 0; i < unplanned.length; i += PLAN_PAGE) {
    const chunk = unplanned.slice(i, i + PLAN_PAGE);
    const counts = await liveRead(deps, chunk, plan.range);
    for (const sel of chunk) if ((counts.get(sel)?.[1] ?? 0) > 0) live.push(sel);
  }
  return live.sort((a, b) => labelCount(b) - labelCount(a));
}

const isNested = (sorted: string[]) =>
  sorted.length > 0 && labelCount(sorted[0]!) !== labelCount(sorted.at(-1)!);

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

function datasetOf(config: OffloadConfig, ref: DatasetMonth) {
  if (ref.selector) {
    const discover = config.groups.find((g) => g.name === ref.group)?.discover;
    return {
      selector: ref.selector,
      seriesPerBatch: ref.seriesPerBatch ?? 500,
      pointsPerBatch: discover?.pointsPerBatch ?? 500_000,
      batchConcurrency:
        ref.batchConcurrency ??
        config.groups.find((g) => g.name === ref.group)?.discover?.batchConcurrency ??
        2,
      templates: undefined,
    };
  }
  return findDataset(config, ref.group, ref.dataset).dataset;
}

/** Batch manifests are gzip JSON: a series list of UUID-like labels is larger than its data otherwise. */
function writeBatch(store: ArchiveStore, ref: MonthRef, batch: number, m: BatchManifest): Promise<void> {
  return writeJson(store, batchManifestKey(ref, batch), m, { gzip: true });
}

async function readBatch(
  store: ArchiveStore,
  ref: MonthRef,
  batch: number,
): Promise<BatchManifest | undefined> {
  return readJson(store, batchManifestKey(ref, batch), BatchManifestSchema);
}

async function liveRead(
  { runner, tokens }: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  selectors: string[],
  range: MonthRange,
) {
  const [items] = await runner.run<[unknown[]]>(
    'archive-read',
    {
      token: tokens.read,
      selectors,
      fetch: fetchSelectors(selectors),
      start: range.startUs,
      end: lastUs(range),
      wrap: false,
    },
    cancellationSignal(),
  );
  return new Map(items.map(asReadItem).map((i) => [i[0], i]));
}

/** Every series a partition batch's selector matches with data in the range, with its counts. */
async function partitionRead(
  { runner, tokens }: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  part: PartitionBatch,
  range: MonthRange,
) {
  const [items] = await runner.run<[unknown[]]>(
    'archive-read',
    {
      token: tokens.read,
      selectors: [],
      fetch: [part.selector],
      start: range.startUs,
      end: lastUs(range),
      wrap: false,
      all: true,
    },
    cancellationSignal(),
  );
  return new Map(items.map(asReadItem).map((i) => [i[0], i]));
}

/** A few selectors covering the batch: Warp 10 scans the class's metadata once per selector. */
const fetchSelectors = (selectors: string[]) => groupSelectors(selectors).map((g) => g.selector);

/** Labels in a selector `class{k=v,...}` (names and values are URL-encoded: no raw comma inside). */
function labelCount(selector: string): number {
  const labels = selector.slice(selector.lastIndexOf('{') + 1, -1);
  return labels === '' ? 0 : labels.split(',').length;
}

/** A configured dataset's templates; a discovered dataset uses its group's `discover.templates`. */
function findDatasetTemplates(config: OffloadConfig, ref: MonthRef) {
  const group = config.groups.find((g) => g.name === ref.group);
  const configured = group?.datasets.find((d) => d.name === ref.dataset);
  return configured ? configured.templates : group?.discover?.templates;
}

/**
 * SHA-256 of the stored bytes and the number of lines they gunzip to, in one streaming pass; `unreadable`
 * says why the bytes are not a valid gzip stream (a corrupt object: no retry can fix it).
 */
async function readBack(
  body: AsyncIterable<Uint8Array>,
): Promise<{ sha256: string; lines: number; unreadable?: string }> {
  const hash = createHash('sha256');
  const gunzip = createGunzip();
  const source = Readable.from(
    (async function* () {
      for await (const chunk of body) {
        hash.update(chunk);
        yield chunk;
      }
    })(),
  );
  pipeline(source, gunzip, () => {});
  let lines = 0;
  let lastByte = 0x0a;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      for (const b of chunk) if (b === 0x0a) lines++;
      if (chunk.length > 0) lastByte = chunk[chunk.length - 1] ?? lastByte;
    }
  } catch (err) {
    // zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR...) are about the bytes; a store error stays as is.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      return { sha256: hash.digest('hex'), lines, unreadable: `${code}: ${(err as Error).message}` };
    }
    throw err;
  }
  if (lastByte !== 0x0a) lines++; // a last line without newline still counts, and then fails the check
  return { sha256: hash.digest('hex'), lines };
}
