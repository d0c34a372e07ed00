// Where a month's archive lives in the store. Self-describing: group / dataset / month / files.
//   <group>/<dataset>/<YYYY-MM>/plan.json               the frozen list of series, by batch (first page)
//   <group>/<dataset>/<YYYY-MM>/plan-00002.json         further pages of a large plan
//   <group>/<dataset>/<YYYY-MM>/batch-00001.wrap.gz     gzip, one WRAPped series a line (stock UNWRAP reads it)
//   <group>/<dataset>/<YYYY-MM>/batch-00001.json        the batch manifest: series, counts, checksum, status
//   <group>/<dataset>/<YYYY-MM>/batch-00001.late-01.wrap.gz  late points of the batch's series (same format)
//   <group>/<dataset>/<YYYY-MM>/manifest.json           written last: the month is complete
//   <group>/<dataset>/<YYYY-MM>/failure.json            the last failure, written by the compensation

export interface MonthRef {
  group: string;
  dataset: string;
  month: string;
}

const pad = (n: number) => String(n).padStart(5, '0');

export const monthPrefix = (m: MonthRef) => `${m.group}/${m.dataset}/${m.month}/`;
export const planKey = (m: MonthRef) => `${monthPrefix(m)}plan.json`;
export const planPageKey = (m: MonthRef, page: number) => `${monthPrefix(m)}plan-${pad(page)}.json`;
export const batchObjectKey = (m: MonthRef, batch: number) => `${monthPrefix(m)}batch-${pad(batch)}.wrap.gz`;
/** The n-th supplement of a batch: points written into its series after its export. */
export const supplementObjectKey = (m: MonthRef, batch: number, n: number) =>
  `${monthPrefix(m)}batch-${pad(batch)}.late-${String(n).padStart(2, '0')}.wrap.gz`;
export const batchManifestKey = (m: MonthRef, batch: number) => `${monthPrefix(m)}batch-${pad(batch)}.json`;
export const monthManifestKey = (m: MonthRef) => `${monthPrefix(m)}manifest.json`;
export const failureKey = (m: MonthRef) => `${monthPrefix(m)}failure.json`;
/** purge.json: the series whose metadata left Warp 10 after the month's commit (purgeEmptySeries). */
export const purgeKey = (m: MonthRef) => `${monthPrefix(m)}purge.json`;

/** The batch number of a batch object, supplement or manifest key, or undefined for other keys. */
export function batchOfKey(key: string): number | undefined {
  const m = /\/batch-(\d{5})\.(?:wrap\.gz|json|late-\d{2}\.wrap\.gz)$/.exec(key);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** Deterministic workflow IDs: a second start of the same month never runs it twice at once. */
export const archiveWorkflowId = (m: MonthRef) => `archive/${m.group}/${m.dataset}/${m.month}`;
export const failureWorkflowId = (m: MonthRef, runId: string) =>
  `archive-failure/${m.group}/${m.dataset}/${m.month}/${runId}`;

/** A restore of a month, into the configured Warp 10 or a named restore target. */
export const restoreWorkflowId = (m: MonthRef, target?: string) =>
  `restore/${m.group}/${m.dataset}/${m.month}${target === undefined ? '' : `/${target}`}`;
