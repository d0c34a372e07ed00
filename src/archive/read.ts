// Reading an archived month's manifests back from the store, checked with zod: a missing document is
// undefined, a damaged or foreign one an ArchiveInputError ('ArchiveCorrupt'). The restore and the audit
// read through it.
import { batchManifestKey, monthManifestKey, type MonthRef } from './layout.ts';
import { BatchManifestSchema, MonthManifestSchema } from './manifest.ts';
import { NotFoundError, type ArchiveStore } from '../store/types.ts';

export type ArchiveInputErrorType = 'NoSuchArchive' | 'IncompleteMonth' | 'InvalidInput' | 'ArchiveCorrupt';

/**
 * An archive that cannot be used as asked: none, not complete, damaged, or a request that does not fit it.
 * `type` is the failure type a restore reports; the audit reports the message as a problem.
 */
export class ArchiveInputError extends Error {
  override name = 'ArchiveInputError';
  constructor(
    readonly type: ArchiveInputErrorType,
    message: string,
  ) {
    super(message);
  }
}

async function readDoc<T>(
  store: ArchiveStore,
  key: string,
  parse: (x: unknown) => { success: true; data: T } | { success: false; error: { message: string } },
): Promise<T | undefined> {
  let text: string;
  try {
    text = await store.getText(key);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ArchiveInputError('ArchiveCorrupt', `${key} in ${store.description} is not JSON`);
  }
  const r = parse(json);
  if (!r.success) {
    throw new ArchiveInputError(
      'ArchiveCorrupt',
      `${key} in ${store.description} is not a valid archive document: ${r.error.message.slice(0, 300)}`,
    );
  }
  return r.data;
}

export function readMonthManifest(store: ArchiveStore, ref: MonthRef) {
  return readDoc(store, monthManifestKey(ref), (x) => MonthManifestSchema.safeParse(x));
}

export function readBatchManifest(store: ArchiveStore, ref: MonthRef, batch: number) {
  return readDoc(store, batchManifestKey(ref, batch), (x) => BatchManifestSchema.safeParse(x));
}
