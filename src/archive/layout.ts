// Where a month's archive lives in the store. Self-describing: group / dataset / month / files.
//   <group>/<dataset>/<YYYY-MM>/plan.json               the frozen list of series, by batch (first page)
//   <group>/<dataset>/<YYYY-MM>/plan-00002.json         further pages of a large plan
//   <group>/<dataset>/<YYYY-MM>/batch-00001.wrap.gz     gzip, one WRAPped series a line (stock UNWRAP reads it)
//   <group>/<dataset>/<YYYY-MM>/batch-00001.json        the batch manifest: series, counts, checksum, status
//   <group>/<dataset>/<YYYY-MM>/batch-00001.late-01.wrap.gz  late points of the batch's series (same format)
//   <group>/<dataset>/<YYYY-MM>/manifest.json           written last: the month is complete
//   <group>/<dataset>/<YYYY-MM>/failure.json            the last failure, written by the compensation
//   <group>/<dataset>/<YYYY-MM>/erase.json              an erasure under way in the month (its journal)
//   batch-00001[.late-01].e-<16 hex>.wrap.gz            a batch object rewritten by an erasure (named by content)
//   erasures/<id>.json                                  what an erasure did (at the store's root)

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

/** erase.json: the journal of an erasure under way in the month; archive writes into the month wait for it. */
export const eraseJournalKey = (m: MonthRef) => `${monthPrefix(m)}erase.json`;
/** The record an erasure keeps of what it did (never the data or the labels). */
export const erasureRecordKey = (id: string) => `erasures/${id}.json`;

/** Object names within a month: a batch's export or supplement, maybe rewritten by an erasure. */
export const BATCH_OBJECT_NAME = /^batch-(\d{5})(\.late-\d{2})?(?:\.e-[0-9a-f]{16})?\.wrap\.gz$/;

/**
 * The key of an object rewritten by an erasure: the original's name (its batch and supplement number)
 * and 16 hex digits of the new content's SHA-256, so that a rerun writes the same key and never over
 * an object a manifest still names.
 */
export function erasedObjectKey(key: string, sha256: string): string {
  const at = key.lastIndexOf('/') + 1;
  const m = BATCH_OBJECT_NAME.exec(key.slice(at));
  if (!m) throw new Error(`${key} is not a batch object`);
  return `${key.slice(0, at)}batch-${m[1]}${m[2] ?? ''}.e-${sha256.slice(0, 16)}.wrap.gz`;
}

/** The batch number of a batch object, supplement or manifest key, or undefined for other keys. */
export function batchOfKey(key: string): number | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const m = BATCH_OBJECT_NAME.exec(name) ?? /^batch-(\d{5})\.json$/.exec(name);
  return m?.[1] === undefined || !key.includes('/') ? undefined : Number(m[1]);
}

/** Deterministic workflow IDs: a second start of the same month never runs it twice at once. */
export const archiveWorkflowId = (m: MonthRef) => `archive/${m.group}/${m.dataset}/${m.month}`;
export const failureWorkflowId = (m: MonthRef, runId: string) =>
  `archive-failure/${m.group}/${m.dataset}/${m.month}/${runId}`;

/** A restore of a month, into the configured Warp 10 or a named restore target. */
export const restoreWorkflowId = (m: MonthRef, target?: string) =>
  `restore/${m.group}/${m.dataset}/${m.month}${target === undefined ? '' : `/${target}`}`;
