// Activities that talk to Warp 10: plan a dataset-month, export a batch into the store, verify it against
// the live data, and the guarded delete. Every step is idempotent through the state kept in the store,
// so a retry or a rerun after a crash resumes instead of redoing.
import { createHash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { batchManifestKey, batchObjectKey, monthManifestKey, type MonthRef } from '../archive/layout.ts';
import {
  BatchManifestSchema,
  MonthManifestSchema,
  type BatchManifest,
  type MonthRange,
  type SeriesEntry,
} from '../archive/manifest.ts';
import type { OffloadConfig, Selector } from '../config/schema.ts';
import { findDataset } from '../config/load.ts';
import { monthRange } from '../month.ts';
import type { ArchiveStore } from '../store/types.ts';
import { groupSelectors } from '../warp10/selectors.ts';
import { topListItems } from '../warp10/json-stream.ts';
import type { WarpScriptRunner } from '../warp10/runner.ts';
import { nonRetryable, toFailure } from './failures.ts';
import { keepAlive } from './keep-alive.ts';
import { readPlanBatch, readPlanHead, requirePlanHead, writePlan } from './plan-store.ts';
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
  status: 'archived' | 'planned' | 'dry-run';
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
const HEARTBEAT_EVERY = 200;

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

type ReadItem = [string, number, number | null, number | null, string | null];

function asReadItem(x: unknown): ReadItem {
  if (
    !Array.isArray(x) ||
    typeof x[0] !== 'string' ||
    typeof x[1] !== 'number' ||
    !(x[2] === null || typeof x[2] === 'number') ||
    !(x[3] === null || typeof x[3] === 'number') ||
    !(x[4] === null || typeof x[4] === 'string')
  ) {
    throw nonRetryable(
      'WarpScriptError',
      `unexpected item in a read reply: ${JSON.stringify(x).slice(0, 200)}`,
    );
  }
  return x as ReadItem;
}

/** Which batch of a dataset-month. */
export type BatchRef = MonthRef & { batch: number };

export type DeleteResult = BatchResult & { deleted: number; alreadyGone: number };

/**
 * The activities, in the order a dataset-month goes through them. Each phase is a function of this
 * module taking its dependencies; keepAlive heartbeats while Warp 10 works on a long request.
 */
export function createWarp10Activities(deps: Warp10ActivityDeps) {
  return {
    async planMonth(input: DatasetMonth & { dryRun?: boolean }): Promise<PlanResult> {
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
  };
}

export type Warp10Activities = ReturnType<typeof createWarp10Activities>;

/** Lists the dataset's series with data in the month and freezes them, in batches, as plan.json. */
async function planMonth(
  deps: Warp10ActivityDeps,
  input: DatasetMonth & { dryRun?: boolean },
): Promise<PlanResult> {
  const { config, store, runner, tokens } = deps;
  try {
    const done = await readJson(store, monthManifestKey(input), MonthManifestSchema);
    if (done) {
      return {
        status: 'archived',
        batchCount: done.batches.length,
        series: done.series,
        points: done.points,
        bytes: done.bytes,
      };
    }
    // A frozen plan is never recomputed: batches already deleted would vanish from a new one.
    const dataset = datasetOf(config, input);
    let plan = await readPlanHead(store, input);
    let fresh: string[][] | undefined;
    if (!plan) {
      const range = rangeOf(input.month, config.timezone);
      const listed = new Set<string>();
      for (let gskip = 0; ; gskip += PLAN_PAGE) {
        const [page] = await runner.run<[{ matched: number; selectors: string[] }]>(
          'archive-plan',
          {
            token: tokens.read,
            class: dataset.selector.class,
            labels: dataset.selector.labels,
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
      // A selector also matches the series holding more labels, so the guarded delete refuses a
      // series while one that extends it still has data outside its batch (AMBIGUOUS_SELECTOR). Series
      // with more labels are planned first: they are deleted in an earlier batch or the same one, and
      // when label counts differ the batches are deleted one after another, in order.
      const selectors = [...listed].sort((a, b) => labelCount(b) - labelCount(a));
      const nested = selectors.length > 0 && labelCount(selectors[0]!) !== labelCount(selectors.at(-1)!);
      const batches: string[][] = [];
      for (let i = 0; i < selectors.length; i += dataset.seriesPerBatch) {
        batches.push(selectors.slice(i, i + dataset.seriesPerBatch));
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
        createdAt: new Date().toISOString(),
      };
      if (input.dryRun) {
        fresh = batches;
        plan = {
          ...head,
          batches,
          batchCount: batches.length,
          series: selectors.length,
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
      const sels = fresh ? fresh[b - 1]! : await readPlanBatch(store, plan, input, b);
      const live = await liveRead(deps, sels, plan.range);
      const points = [...live.values()].reduce((n, item) => n + item[1], 0);
      batches.push({ batch: b, series: sels.length, points, object: batchObjectKey(input, b) });
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
    const selectors = await readPlanBatch(store, plan, input, batch);
    const dataset = findDatasetTemplates(config, input);
    const started = Date.now();
    const seen = new Map<string, SeriesEntry>();
    const wanted = new Set(selectors);
    const body = await runner.stream(
      dataset?.export ?? 'archive-read',
      {
        token: tokens.read,
        selectors,
        fetch: fetchSelectors(selectors),
        start: plan.range.startUs,
        end: lastUs(plan.range),
        wrap: true,
      },
      cancellationSignal(),
    );
    async function* lines(): AsyncGenerator<string> {
      for await (const raw of topListItems(body)) {
        const [selector, points, first, last, wrapped] = asReadItem(raw);
        if (!wanted.has(selector) || seen.has(selector)) continue;
        seen.set(selector, { selector, points, first, last });
        if (points > 0) {
          if (!wrapped)
            throw nonRetryable('WarpScriptError', `series ${selector} came back without data`, batch);
          yield `${wrapped}\n`;
        }
        if (seen.size % HEARTBEAT_EVERY === 0) heartbeat({ batch, series: seen.size });
      }
    }
    const gzip = createGzip();
    // pipeline() destroys the gzip stream with the source's error, so a failing read fails the put.
    pipeline(Readable.from(lines()), gzip, () => {});
    const object = await store.put(batchObjectKey(input, batch), gzip, {
      contentType: 'application/gzip',
    });
    const series = selectors.map((s) => seen.get(s) ?? { selector: s, points: 0, first: null, last: null });
    const manifest: BatchManifest = {
      format: 'warp10-offloader/batch@1',
      group: input.group,
      dataset: input.dataset,
      month: input.month,
      batch,
      range: plan.range,
      object,
      series,
      points: series.reduce((n, s) => n + s.points, 0),
      status: 'exported',
      exportedAt: new Date().toISOString(),
      exportMs: Date.now() - started,
    };
    await writeJson(store, batchManifestKey(input, batch), manifest);
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
    await writeJson(store, batchManifestKey(input, batch), {
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
      };
    }
    const withData = m.series.filter((s) => s.points > 0);
    const expected = withData.map((s) => [s.selector, s.points, s.first, s.last]);
    const groups = groupSelectors(withData.map((s) => s.selector)).map((g) => [g.selector, g.members]);
    let outcome = { deleted: 0, alreadyGone: 0, checked: 0 };
    if (expected.length > 0) {
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
    await writeJson(store, batchManifestKey(input, batch), {
      ...m,
      status: 'deleted',
      deletedAt: new Date().toISOString(),
      deleted: outcome,
    });
    return { ...result, skipped: false, deleted: outcome.deleted, alreadyGone: outcome.alreadyGone };
  } catch (err) {
    throw toFailure(err, batch);
  }
}

function datasetOf(config: OffloadConfig, ref: DatasetMonth) {
  if (ref.selector) {
    return {
      selector: ref.selector,
      seriesPerBatch: ref.seriesPerBatch ?? 500,
      batchConcurrency:
        ref.batchConcurrency ??
        config.groups.find((g) => g.name === ref.group)?.discover?.batchConcurrency ??
        2,
      templates: undefined,
    };
  }
  return findDataset(config, ref.group, ref.dataset).dataset;
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
