// What every phase of the Warp 10 activities shares: their dependencies, which dataset-month and batch,
// the month's range, the items a read reply holds, and the batch manifests kept in the store.
import { cancellationSignal } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { batchManifestKey, eraseJournalKey, type MonthRef } from '../../archive/layout.ts';
import { BatchManifestSchema, type BatchManifest, type MonthRange } from '../../archive/manifest.ts';
import { BATCH_DEFAULTS, type OffloadConfig, type Selector } from '../../config/schema.ts';
import { findDataset } from '../../config/load.ts';
import { decodeWrapped } from '../../archive/wrap-decode.ts';
import { monthRange } from '../../month.ts';
import type { ArchiveStore } from '../../store/types.ts';
import { topListItems } from '../../warp10/json-stream.ts';
import { groupSelectors } from '../../warp10/selectors.ts';
import type { WarpScriptRunner } from '../../warp10/runner.ts';
import { nonRetryable } from '../failures.ts';
import { readJson, writeJson } from '../store-json.ts';

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

export interface BatchResult {
  batch: number;
  skipped: boolean;
  series: number;
  points: number;
  bytes: number;
}

/** Which batch of a dataset-month. */
export type BatchRef = MonthRef & { batch: number };

export function rangeOf(month: string, timezone: string): MonthRange {
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
export const lastUs = (r: MonthRange) => r.endUs - 1;

/** A series as a script reports it: selector, points, first and last tick in the range. */
type Counts = [string, number, number | null, number | null];
/**
 * Counts, the WRAPped series (or null), its content hash (null without points or from a custom template)
 * and its attributes (undefined when none or from a custom template).
 */
type ReadItem = [...Counts, string | null, string | null, Record<string, string> | undefined];

export const isCounts = (x: unknown): x is Counts =>
  Array.isArray(x) &&
  typeof x[0] === 'string' &&
  typeof x[1] === 'number' &&
  (x[2] === null || typeof x[2] === 'number') &&
  (x[3] === null || typeof x[3] === 'number');

export const unexpected = (what: string, x: unknown) =>
  nonRetryable('WarpScriptError', `unexpected item in a ${what} reply: ${JSON.stringify(x).slice(0, 200)}`);

export function asReadItem(x: unknown): ReadItem {
  const wrapped: unknown = Array.isArray(x) ? x[4] : undefined;
  const hash: unknown = Array.isArray(x) ? (x[5] ?? null) : undefined;
  const attrs: unknown = Array.isArray(x) ? (x[6] ?? undefined) : undefined;
  const ok = isCounts(x) && (wrapped === null || typeof wrapped === 'string');
  const okAttrs =
    attrs === undefined ||
    (typeof attrs === 'object' &&
      attrs !== null &&
      !Array.isArray(attrs) &&
      Object.values(attrs).every((v) => typeof v === 'string'));
  if (!ok || !(hash === null || typeof hash === 'string') || !okAttrs) throw unexpected('read', x);
  return [x[0], x[1], x[2], x[3], wrapped, hash, attrs as Record<string, string> | undefined];
}

/** The rows of an archive-read reply. */
export async function* readItems(body: AsyncIterable<Uint8Array>): AsyncGenerator<ReadItem> {
  for await (const raw of topListItems(body)) yield asReadItem(raw);
}

/** A [ selector wrapped ] pair of archive-read-partition.mc2 or archive-encode.mc2. */
export function asPair(x: unknown): [string, string] {
  if (!Array.isArray(x) || x.length !== 2 || typeof x[0] !== 'string' || typeof x[1] !== 'string')
    throw unexpected('partition read', x);
  return [x[0], x[1]];
}

/**
 * The reply of archive-read-partition.mc2 for one selector over a range: every series it matches with
 * points, as [ selector wrapped ] pairs (list functions only: a dozen Warp 10 operations however many).
 */
export function streamPartition(
  { runner, tokens }: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  selector: string,
  range: MonthRange,
): Promise<AsyncIterable<Uint8Array>> {
  return runner.stream(
    'archive-read-partition',
    { token: tokens.read, selector, start: range.startUs, end: lastUs(range) },
    cancellationSignal(),
  );
}

/** The rows of an archive-read-partition reply, counted from the wrapped series themselves. */
export async function* partitionItems(body: AsyncIterable<Uint8Array>): AsyncGenerator<ReadItem> {
  for await (const raw of topListItems(body)) {
    const [selector, wrapped] = asPair(raw);
    const d = decodeWrapped(wrapped);
    const attrs = Object.keys(d.attributes).length > 0 ? d.attributes : undefined;
    yield [selector, d.points, d.first, d.last, wrapped, null, attrs];
  }
}

export function datasetOf(config: OffloadConfig, ref: DatasetMonth) {
  if (ref.selector) {
    const discover = config.groups.find((g) => g.name === ref.group)?.discover;
    return {
      selector: ref.selector,
      seriesPerBatch: ref.seriesPerBatch ?? BATCH_DEFAULTS.seriesPerBatch,
      pointsPerBatch: discover?.pointsPerBatch ?? BATCH_DEFAULTS.pointsPerBatch,
      batchConcurrency: ref.batchConcurrency ?? discover?.batchConcurrency ?? BATCH_DEFAULTS.batchConcurrency,
      purgeEmptySeries: discover?.purgeEmptySeries ?? false,
      templates: undefined,
    };
  }
  return findDataset(config, ref.group, ref.dataset).dataset;
}

/**
 * Batch manifests are gzip JSON: a series list of UUID-like labels is larger than its data otherwise.
 * Never while an erasure holds the month, and never over a rewrite by an erasure this copy predates: it
 * would name objects the erasure removed, or series it erased (the activity's retry reads it again).
 */
export async function writeBatch(
  store: ArchiveStore,
  ref: MonthRef,
  batch: number,
  m: BatchManifest,
): Promise<void> {
  await refuseWhileErasing(store, ref);
  const stored = await readBatch(store, ref, batch).catch(() => undefined);
  if ((stored?.erasures?.length ?? 0) > (m.erasures?.length ?? 0)) {
    throw ApplicationFailure.retryable(
      `batch ${batch} of ${ref.group}/${ref.dataset} ${ref.month} was rewritten by an erasure since it was read: read again`,
      'ErasedMeanwhile',
    );
  }
  await writeJson(store, batchManifestKey(ref, batch), m, { gzip: true });
}

/** A retryable failure while an erasure holds the month (erase.json): the archive waits for it. */
export async function refuseWhileErasing(store: ArchiveStore, ref: MonthRef): Promise<void> {
  if (await store.head(eraseJournalKey(ref))) {
    throw ApplicationFailure.retryable(
      `${ref.group}/${ref.dataset} ${ref.month} is being erased (${eraseJournalKey(ref)}): its archive waits for the erasure to end`,
      'MonthBeingErased',
    );
  }
}

export async function readBatch(
  store: ArchiveStore,
  ref: MonthRef,
  batch: number,
): Promise<BatchManifest | undefined> {
  return readJson(store, batchManifestKey(ref, batch), BatchManifestSchema);
}

/** A few selectors covering the batch: Warp 10 scans the class's metadata once per selector. */
export const fetchSelectors = (selectors: string[]) => groupSelectors(selectors).map((g) => g.selector);

/** A configured dataset's templates; a discovered dataset uses its group's `discover.templates`. */
export function findDatasetTemplates(config: OffloadConfig, ref: MonthRef) {
  const group = config.groups.find((g) => g.name === ref.group);
  const configured = group?.datasets.find((d) => d.name === ref.dataset);
  return configured ? configured.templates : group?.discover?.templates;
}

/** A partition batch's wrap digest as of its latest supplement; undefined for batches exported before. */
export function batchWrapDigest(m: BatchManifest): string | undefined {
  if (!m.partition?.wrap) return undefined;
  const latest = [...(m.supplements ?? [])].reverse().find((x) => x.wrap);
  return latest?.wrap ?? m.partition.wrap;
}

/** A partition batch's digest with content hashes, as of its latest supplement; undefined before them. */
export function contentDigest(m: BatchManifest): string | undefined {
  if (!m.partition?.digest) return undefined;
  const latest = [...(m.supplements ?? [])].reverse().find((x) => x.digest);
  return latest?.digest ?? m.partition.digest;
}
