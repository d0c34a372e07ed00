// Reads and writes the archive's catalog (src/archive/catalog.ts) in a store. Writes are not safe to run
// concurrently (two writers would each drop the other's change): every commit publishes through one
// Temporal workflow per store (src/workflows/catalog.ts), and `npm run reindex` rebuilds it when no
// archive commits. Each publish reads the months' manifest.json, so it is idempotent and converges on
// what is committed whatever the order of publishes.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { readJson } from '../activities/store-json.ts';
import { nonRetryable } from '../activities/failures.ts';
import { NotFoundError, type ArchiveStore } from '../store/types.ts';
import {
  CATALOG_KEY,
  CatalogSchema,
  DatasetCatalogSchema,
  catalogDataset,
  catalogMonth,
  emptyCatalog,
  emptyDatasetCatalog,
  encodeDatasetCatalog,
  withDataset,
  withMonth,
  type Catalog,
  type CatalogDataset,
  type DatasetCatalog,
} from './catalog.ts';
import { monthManifestKey, monthPrefix, type MonthRef } from './layout.ts';
import { MonthManifestSchema, type MonthManifest } from './manifest.ts';

export interface PublishResult {
  /** Months now listed (committed) and months taken out (no manifest.json any more). */
  listed: number;
  removed: number;
  datasets: number;
  /** Index objects of earlier commits that no catalog entry names any more, deleted. */
  supersededIndexes: number;
}

export async function readCatalog(store: ArchiveStore): Promise<Catalog | undefined> {
  return readJson(store, CATALOG_KEY, CatalogSchema);
}

export async function readDatasetCatalog(
  store: ArchiveStore,
  entry: CatalogDataset,
): Promise<DatasetCatalog> {
  const text = await store.getText(entry.key).catch((err: unknown) => {
    throw nonRetryable(
      'ArchiveCorrupt',
      `${entry.key}, the catalog of ${entry.group}/${entry.dataset}, cannot be read (${(err as Error).message}): run npm run reindex`,
    );
  });
  const sha = createHash('sha256').update(text).digest('hex');
  const parsed = sha === entry.sha256 ? DatasetCatalogSchema.safeParse(JSON.parse(text)) : undefined;
  if (!parsed?.success || parsed.data.group !== entry.group || parsed.data.dataset !== entry.dataset) {
    throw nonRetryable(
      'ArchiveCorrupt',
      `${entry.key} is not the catalog ${CATALOG_KEY} says for ${entry.group}/${entry.dataset}: run npm run reindex`,
    );
  }
  return parsed.data;
}

const roots = new Map<string, { sha256: string; catalog: Catalog }>();
const datasetCatalogs = new Map<string, DatasetCatalog>();

/**
 * Whether the catalog lists the month at the commit its manifest.json records (same revision and index):
 * a rerun of a committed month then has nothing to publish. catalog.json is read again only when its
 * SHA-256 (S3 metadata) changed; dataset catalogs, named by their content, once.
 */
export async function isListed(store: ArchiveStore, ref: MonthRef): Promise<boolean> {
  const manifest = await readJson(store, monthManifestKey(ref), MonthManifestSchema);
  if (!manifest) return false;
  const head = await store.head(CATALOG_KEY);
  if (!head) return false;
  const cached = roots.get(store.description);
  let root = head.sha256 !== undefined && cached?.sha256 === head.sha256 ? cached.catalog : undefined;
  if (!root) {
    root = await readCatalog(store);
    if (!root) return false;
    if (head.sha256) roots.set(store.description, { sha256: head.sha256, catalog: root });
  }
  const entry = root.datasets.find((d) => d.group === ref.group && d.dataset === ref.dataset);
  if (!entry) return false;
  let cat = datasetCatalogs.get(`${store.description}\u0000${entry.key}`);
  if (!cat) {
    cat = await readDatasetCatalog(store, entry);
    if (datasetCatalogs.size > 1_000) datasetCatalogs.clear();
    datasetCatalogs.set(`${store.description}\u0000${entry.key}`, cat);
  }
  const month = cat.months.find((m) => m.month === ref.month);
  return (
    month !== undefined &&
    month.revision === (manifest.revision ?? 1) &&
    month.index?.key === manifest.index?.key
  );
}

/**
 * Whether a reader may be sent to `key`, an index object of the month: its manifest.json names it, or the
 * dataset's catalog or the one kept before it (readers that read catalog.json just before a write). A
 * catalog that cannot be read counts as naming it: an index left behind is a stray, one removed breaks reads.
 */
export async function indexNamed(store: ArchiveStore, ref: MonthRef, key: string): Promise<boolean> {
  const manifest = await readJson(store, monthManifestKey(ref), MonthManifestSchema);
  if (manifest?.index?.key === key) return true;
  try {
    const entry = (await readCatalog(store))?.datasets.find(
      (d) => d.group === ref.group && d.dataset === ref.dataset,
    );
    if (!entry) return false;
    const catalogs = [await readDatasetCatalog(store, entry)];
    if (entry.previous) {
      const text = await store.getText(entry.previous).catch((err: unknown) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      });
      if (text !== undefined) catalogs.push(DatasetCatalogSchema.parse(JSON.parse(text)));
    }
    return catalogs.some((c) => c.months.some((m) => m.month === ref.month && m.index?.key === key));
  } catch {
    return true;
  }
}

/** The first and last selector of a month's index, from its footer (undefined when it has no series). */
async function indexClasses(
  store: ArchiveStore,
  index: NonNullable<MonthManifest['index']>,
): Promise<{ first: string; last: string } | undefined> {
  if (index.series === 0) return undefined;
  const raw = await store.getRange(index.key, index.footer.offset, index.footer.bytes);
  if (createHash('sha256').update(raw).digest('hex') !== index.footer.sha256) {
    throw nonRetryable('ArchiveCorrupt', `${index.key}: its footer does not match manifest.json's SHA-256`);
  }
  const footer = JSON.parse(gunzipSync(raw, { maxOutputLength: 64 * 1024 * 1024 }).toString()) as {
    blocks?: { first?: unknown; last?: unknown }[];
  };
  const blocks = footer.blocks ?? [];
  const first = blocks[0]?.first;
  const last = blocks[blocks.length - 1]?.last;
  if (typeof first !== 'string' || typeof last !== 'string') {
    throw nonRetryable('ArchiveCorrupt', `${index.key}: its footer has no first and last selector`);
  }
  return { first, last };
}

/**
 * Sets each month's entry from its manifest.json (a month without one leaves the catalog), then writes
 * each changed dataset's catalog, then catalog.json naming them. `rebuild`: the datasets named start
 * from nothing (every one of their committed months must be in `months`).
 */
export async function publishMonths(
  store: ArchiveStore,
  months: MonthRef[],
  opts: { rebuild?: boolean; now?: () => string; onProgress?: () => void } = {},
): Promise<PublishResult> {
  const now = opts.now ?? (() => new Date().toISOString());
  let root = (await readCatalog(store)) ?? emptyCatalog();
  const byDataset = new Map<string, MonthRef[]>();
  for (const m of months) {
    const k = `${m.group}/${m.dataset}`;
    byDataset.set(k, [...(byDataset.get(k) ?? []), m]);
  }
  const result: PublishResult = { listed: 0, removed: 0, datasets: 0, supersededIndexes: 0 };
  const superseded: string[] = [];
  const oldCatalogs: string[] = [];
  for (const refs of byDataset.values()) {
    const { group, dataset } = refs[0]!;
    const entry = root.datasets.find((d) => d.group === group && d.dataset === dataset);
    const before =
      entry && !opts.rebuild ? await readDatasetCatalog(store, entry) : emptyDatasetCatalog(group, dataset);
    const known =
      entry && opts.rebuild ? await readDatasetCatalog(store, entry).catch(() => undefined) : before;
    let cat = before;
    for (const ref of refs) {
      opts.onProgress?.();
      const manifest = await readJson(store, monthManifestKey(ref), MonthManifestSchema);
      if (
        manifest?.index &&
        !/^index-[0-9a-f]{16}\.idx$/.test(manifest.index.key.slice(monthPrefix(ref).length))
      ) {
        throw nonRetryable(
          'ArchiveCorrupt',
          `${monthManifestKey(ref)} names an index object outside the month`,
        );
      }
      const old = known?.months.find((m) => m.month === ref.month);
      const fresh = manifest
        ? catalogMonth(manifest, manifest.index ? await indexClasses(store, manifest.index) : undefined)
        : undefined;
      if (fresh) result.listed++;
      else if (old) result.removed++;
      // The index of an earlier commit of the month: no reader is sent to it once the catalog is written.
      if (old?.index && old.index.key !== fresh?.index?.key && old.index.key.startsWith(monthPrefix(ref))) {
        superseded.push(old.index.key);
      }
      cat = withMonth(cat, ref.month, fresh);
    }
    if (cat.months.length === 0) {
      // No committed month left: the dataset leaves the catalog, its catalogs with it.
      if (!entry) continue;
      result.datasets++;
      oldCatalogs.push(entry.key, ...(entry.previous ? [entry.previous] : []));
      root = withDataset(root, cat, undefined, now());
      continue;
    }
    const stored = encodeDatasetCatalog(cat);
    // Unchanged: nothing to write (a rebuild writes it anyway: the object at that key may be damaged).
    if (entry?.key === stored.key && !opts.rebuild) continue;
    await store.put(stored.key, stored.body, { contentType: 'application/json' });
    result.datasets++;
    // Two generations kept: a reader that read catalog.json just before this write still finds its own.
    if (entry?.previous && entry.key !== stored.key && entry.previous !== stored.key)
      oldCatalogs.push(entry.previous);
    const previous = entry?.key === stored.key ? entry.previous : entry?.key;
    root = withDataset(root, cat, catalogDataset(cat, stored, previous), now());
  }
  if (result.datasets > 0) {
    await store.put(CATALOG_KEY, `${JSON.stringify(root, null, 1)}\n`, { contentType: 'application/json' });
  }
  for (const key of [...superseded, ...oldCatalogs]) await store.delete(key).catch(() => undefined);
  result.supersededIndexes = superseded.length;
  return result;
}
