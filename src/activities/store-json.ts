// JSON documents in the archive store, validated on the way back in.
import { gzipSync } from 'node:zlib';
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
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw nonRetryable('ArchiveCorrupt', `${key} in ${store.description} is not readable gzip (${code})`);
    }
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

/**
 * `gzip`: compact JSON, gzip-compressed (batch manifests: a series list of UUID-like labels is larger
 * than the batch's data otherwise); `getText` gunzips it back, so every reader reads it as JSON.
 */
export async function writeJson(
  store: ArchiveStore,
  key: string,
  doc: unknown,
  opts: { gzip?: boolean } = {},
): Promise<void> {
  if (opts.gzip) {
    await store.put(key, gzipSync(JSON.stringify(doc)), { contentType: 'application/gzip' });
    return;
  }
  await store.put(key, `${JSON.stringify(doc, null, 2)}\n`, { contentType: 'application/json' });
}
