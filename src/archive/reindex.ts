// Month indexes for months committed before them (npm run reindex): each committed month without an index
// gets one, built from its batch manifests as a commit builds it, with its series' owners when Warp 10 can
// say. Idempotent (a month with an index is left as it is) and resumable (each month is written on its own:
// the index object first, then manifest.json naming it; a month whose manifest changed meanwhile is left
// to the run that changed it).
import { readPlanHead } from '../activities/plan-store.ts';
import { readJson, writeJson } from '../activities/store-json.ts';
import type { ArchiveStore } from '../store/types.ts';
import { batchManifestKey, monthManifestKey, monthPrefix, type MonthRef } from './layout.ts';
import { BatchManifestSchema, MonthManifestSchema, type BatchManifest, type Plan } from './manifest.ts';
import { buildMonthIndex, monthIndexKey, type SeriesOwners } from './month-index.ts';

export type ReindexStatus = 'indexed' | 'would index' | 'has an index' | 'changed meanwhile';

export interface ReindexResult extends MonthRef {
  status: ReindexStatus;
  series?: number;
  bytes?: number;
  owners?: boolean;
}

/** Every committed month of the store (a manifest.json under group/dataset/YYYY-MM/), sorted. */
export async function committedMonths(store: ArchiveStore): Promise<MonthRef[]> {
  const out: MonthRef[] = [];
  for (const o of await store.list('')) {
    const m = /^([^/]+)\/([^/]+)\/(\d{4}-\d{2})\/manifest\.json$/.exec(o.key);
    if (m) out.push({ group: m[1]!, dataset: m[2]!, month: m[3]! });
  }
  const key = (r: MonthRef) => `${r.group}/${r.dataset}/${r.month}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export async function reindexMonth(
  store: ArchiveStore,
  ref: MonthRef,
  opts: { dryRun: boolean; owners?: (selector: Plan['selector']) => Promise<SeriesOwners | undefined> },
): Promise<ReindexResult> {
  const month = await readJson(store, monthManifestKey(ref), MonthManifestSchema);
  if (!month) throw new Error(`${monthManifestKey(ref)} is gone`);
  if (month.index) return { ...ref, status: 'has an index', series: month.index.series };
  const manifests: BatchManifest[] = [];
  for (const b of month.batches) {
    const bm = await readJson(store, batchManifestKey(ref, b.batch), BatchManifestSchema);
    if (!bm)
      throw new Error(
        `${batchManifestKey(ref, b.batch)} is missing: run npm run verify-archive on the month`,
      );
    manifests.push(bm);
  }
  const plan = await readPlanHead(store, ref);
  const owners = plan && opts.owners ? await opts.owners(plan.selector) : undefined;
  const built = buildMonthIndex(manifests, month.range, owners);
  const result = { ...ref, series: built.ref.series, bytes: built.ref.bytes, owners: owners !== undefined };
  if (opts.dryRun) return { ...result, status: 'would index' };
  const index = {
    key: monthIndexKey(monthPrefix(ref), built.ref.sha256),
    ...built.ref,
    owners: owners !== undefined,
  };
  await store.put(index.key, built.body);
  // A run that committed the month again meanwhile wrote its own index: leave its manifest alone.
  const now = await readJson(store, monthManifestKey(ref), MonthManifestSchema);
  if (!now || now.committedAt !== month.committedAt || now.index)
    return { ...result, status: 'changed meanwhile' };
  await writeJson(store, monthManifestKey(ref), { ...month, index });
  return { ...result, status: 'indexed' };
}
