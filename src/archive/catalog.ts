// The archive's catalog (docs/ARCHIVE-LAYOUT.md#the-catalog): what a query needs to find its months
// without listing the store. `catalog.json` at the store's root names each dataset's catalog (content-named,
// so a reader caches it by key) with the dataset's range of months and of series selectors; a dataset
// catalog lists its committed months with their range and index reference. A query reads catalog.json
// (one HEAD a query while it is unchanged), skips the datasets and months whose months or selectors cannot
// meet it, and goes straight to the month indexes of the rest.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { MonthManifestSchema, type MonthManifest } from './manifest.ts';

export const CATALOG_KEY = 'catalog.json';
export const CATALOG_FORMAT = 'warp10-offloader/catalog@1';
export const DATASET_CATALOG_FORMAT = 'warp10-offloader/dataset-catalog@1';

const IndexRefSchema = MonthManifestSchema.shape.index.unwrap().extend({
  /** The index's first and last selector (absent when the month has no series): a query's class range. */
  first: z.string().optional(),
  last: z.string().optional(),
});

export const CatalogMonthSchema = z.object({
  month: z.string().regex(/^\d{4}-\d{2}$/),
  range: z.object({ startUs: z.number().int(), endUs: z.number().int() }),
  revision: z.number().int().positive(),
  series: z.number().int().nonnegative(),
  points: z.number().int().nonnegative(),
  committedAt: z.string(),
  /** Absent for a month committed before month indexes: a reader reads its manifest.json as before. */
  index: IndexRefSchema.optional(),
});
export type CatalogMonth = z.infer<typeof CatalogMonthSchema>;

export const DatasetCatalogSchema = z.object({
  format: z.literal(DATASET_CATALOG_FORMAT),
  group: z.string(),
  dataset: z.string(),
  months: z.array(CatalogMonthSchema),
});
export type DatasetCatalog = z.infer<typeof DatasetCatalogSchema>;

export const CatalogDatasetSchema = z.object({
  group: z.string(),
  dataset: z.string(),
  key: z.string(),
  bytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  months: z.number().int().nonnegative(),
  firstMonth: z.string().optional(),
  lastMonth: z.string().optional(),
  /** The selectors' range over the dataset's indexed months: a query of another class skips the dataset. */
  classes: z.object({ first: z.string(), last: z.string() }).optional(),
  /** The dataset catalog before this one: kept for readers that read the root just before it changed. */
  previous: z.string().optional(),
});
export type CatalogDataset = z.infer<typeof CatalogDatasetSchema>;

export const CatalogSchema = z.object({
  format: z.literal(CATALOG_FORMAT),
  updatedAt: z.string(),
  datasets: z.array(CatalogDatasetSchema),
});
export type Catalog = z.infer<typeof CatalogSchema>;

/** UTF-16 code unit order, as Java's String.compareTo: the extension compares selectors the same way. */
export const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export const emptyCatalog = (): Catalog => ({ format: CATALOG_FORMAT, updatedAt: '', datasets: [] });

export const emptyDatasetCatalog = (group: string, dataset: string): DatasetCatalog => ({
  format: DATASET_CATALOG_FORMAT,
  group,
  dataset,
  months: [],
});

/** A committed month as its dataset catalog lists it; `classes` from its index's footer. */
export function catalogMonth(
  manifest: MonthManifest,
  classes?: { first: string; last: string },
): CatalogMonth {
  return {
    month: manifest.month,
    range: { startUs: manifest.range.startUs, endUs: manifest.range.endUs },
    revision: manifest.revision ?? 1,
    series: manifest.series,
    points: manifest.points,
    committedAt: manifest.committedAt,
    ...(manifest.index ? { index: { ...manifest.index, ...(classes ?? {}) } } : {}),
  };
}

/** The dataset catalog with `month` set (undefined: the month is not committed and leaves it). */
export function withMonth(
  cat: DatasetCatalog,
  name: string,
  month: CatalogMonth | undefined,
): DatasetCatalog {
  const months = cat.months.filter((m) => m.month !== name);
  if (month) months.push(month);
  months.sort((a, b) => byCodeUnits(a.month, b.month));
  return { ...cat, months };
}

/** A dataset catalog's bytes and the key they are stored at (named by their SHA-256). */
export function encodeDatasetCatalog(cat: DatasetCatalog): { key: string; body: Buffer; sha256: string } {
  const body = Buffer.from(JSON.stringify(cat));
  const sha256 = createHash('sha256').update(body).digest('hex');
  return { key: `${cat.group}/${cat.dataset}/catalog-${sha256.slice(0, 16)}.json`, body, sha256 };
}

/** The root's entry for a dataset catalog stored at `stored`. */
export function catalogDataset(
  cat: DatasetCatalog,
  stored: { key: string; body: Buffer; sha256: string },
  previous?: string,
): CatalogDataset {
  const indexed = cat.months.filter((m) => m.index?.first !== undefined && m.index.last !== undefined);
  const firsts = indexed.map((m) => m.index!.first!).sort(byCodeUnits);
  const lasts = indexed.map((m) => m.index!.last!).sort(byCodeUnits);
  // A month without an index may hold any series: no class range can be claimed for the dataset.
  const legacy = cat.months.some((m) => !m.index);
  return {
    group: cat.group,
    dataset: cat.dataset,
    key: stored.key,
    bytes: stored.body.length,
    sha256: stored.sha256,
    months: cat.months.length,
    ...(cat.months.length > 0
      ? { firstMonth: cat.months[0]!.month, lastMonth: cat.months[cat.months.length - 1]!.month }
      : {}),
    ...(!legacy && firsts.length > 0
      ? { classes: { first: firsts[0]!, last: lasts[lasts.length - 1]! } }
      : {}),
    ...(previous && previous !== stored.key ? { previous } : {}),
  };
}

/** The root with `entry` for its dataset (undefined: the dataset leaves it). */
export function withDataset(
  root: Catalog,
  ref: { group: string; dataset: string },
  entry: CatalogDataset | undefined,
  now: string,
): Catalog {
  const datasets = root.datasets.filter((d) => d.group !== ref.group || d.dataset !== ref.dataset);
  if (entry) datasets.push(entry);
  const name = (d: CatalogDataset) => `${d.group}/${d.dataset}`;
  datasets.sort((a, b) => byCodeUnits(name(a), name(b)));
  return { format: CATALOG_FORMAT, updatedAt: now, datasets };
}
