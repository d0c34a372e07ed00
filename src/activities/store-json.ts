// JSON documents in the archive store, validated on the way back in.
import type { z } from 'zod';
import { NotFoundError, type ArchiveStore } from '../store/types.ts';
import { nonRetryable } from './failures.ts';

export async function readJson<T>(
  store: ArchiveStore,
  key: string,
  schema: z.ZodType<T>,
): Promise<T | undefined> {
  let text: string;
  try {
    text = await store.getText(key);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw nonRetryable(
      'ArchiveCorrupt',
      `${key} in ${store.description} is not a valid archive document: ${parsed.error.message.slice(0, 300)}`,
    );
  }
  return parsed.data;
}

export async function writeJson(store: ArchiveStore, key: string, doc: unknown): Promise<void> {
  await store.put(key, `${JSON.stringify(doc, null, 2)}\n`, { contentType: 'application/json' });
}
