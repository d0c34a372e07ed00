// verify-archive's check of a committed month's lookup index: the object manifest.json names is there,
// whole (its SHA-256, each block's), and says exactly what the batch manifests say (src/archive/month-index.ts).
import { readJson } from '../activities/store-json.ts';
import { NotFoundError, type ArchiveStore } from '../store/types.ts';
import { batchManifestKey, type MonthRef } from './layout.ts';
import { BatchManifestSchema, type BatchManifest, type MonthManifest } from './manifest.ts';
import { IndexUnreadable, compareMonthIndex, readMonthIndex } from './month-index.ts';

export async function auditMonthIndex(
  store: ArchiveStore,
  ref: MonthRef,
  manifest: Pick<MonthManifest, 'index' | 'batches'>,
): Promise<{ object: string; problem: string }[]> {
  const index = manifest.index;
  if (!index) return [];
  let body: Buffer;
  try {
    body = await readMonthIndex(store, ref, index);
  } catch (err) {
    if (err instanceof NotFoundError) return [{ object: index.key, problem: 'missing' }];
    if (err instanceof IndexUnreadable) return [{ object: index.key, problem: err.problem }];
    throw err;
  }
  const manifests: BatchManifest[] = [];
  for (const b of manifest.batches) {
    const bm = await readJson(store, batchManifestKey(ref, b.batch), BatchManifestSchema).catch(
      () => undefined,
    );
    // A batch manifest missing or unreadable is a problem of its own (the audit names it).
    if (!bm) return [];
    manifests.push(bm);
  }
  if (manifests.length === 0) return [];
  return compareMonthIndex(body, index, manifests, manifests[0]!.range).map((problem) => ({
    object: index.key,
    problem,
  }));
}
