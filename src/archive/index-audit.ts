// verify-archive's check of a committed month's lookup index: the object manifest.json names is there,
// whole (its SHA-256, each block's), and says exactly what the batch manifests say (src/archive/month-index.ts).
import { readJson } from '../activities/store-json.ts';
import { MAX_TEXT_BYTES } from '../store/common.ts';
import { NotFoundError, type ArchiveStore } from '../store/types.ts';
import { batchManifestKey, monthPrefix, type MonthRef } from './layout.ts';
import { BatchManifestSchema, type BatchManifest, type MonthManifest } from './manifest.ts';
import { compareMonthIndex } from './month-index.ts';

export async function auditMonthIndex(
  store: ArchiveStore,
  ref: MonthRef,
  manifest: Pick<MonthManifest, 'index' | 'batches'>,
): Promise<{ object: string; problem: string }[]> {
  const index = manifest.index;
  if (!index) return [];
  if (
    !index.key.startsWith(monthPrefix(ref)) ||
    !/^index-[0-9a-f]{16}\.idx$/.test(index.key.slice(monthPrefix(ref).length))
  ) {
    return [{ object: index.key, problem: 'is not an index object of this month (index-<16 hex>.idx)' }];
  }
  // Its size is manifest.json's word: an object longer than that, or than any index this reads, is not read on.
  if (index.bytes > MAX_TEXT_BYTES) {
    return [
      { object: index.key, problem: `is ${index.bytes} bytes, over the ${MAX_TEXT_BYTES} an index may be` },
    ];
  }
  let body: Buffer;
  try {
    const chunks: Uint8Array[] = [];
    let n = 0;
    for await (const c of await store.get(index.key)) {
      n += c.length;
      if (n > index.bytes)
        return [{ object: index.key, problem: `is longer than manifest.json says (${index.bytes} bytes)` }];
      chunks.push(c);
    }
    body = Buffer.concat(chunks);
  } catch (err) {
    if (err instanceof NotFoundError) return [{ object: index.key, problem: 'missing' }];
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
