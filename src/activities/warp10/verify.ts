// Verify: the stored object read back (checksum, lines) before any delete may rely on it.
import { createHash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { nonRetryable, toFailure } from '../failures.ts';
import { readBatch, writeBatch, type BatchRef, type BatchResult, type Warp10ActivityDeps } from './shared.ts';

/**
 * Re-reads the stored object (checksum, one line per series with data) and marks the batch verified;
 * the live data is compared with it by the guarded delete, in the request that deletes it.
 */
export async function verifyBatch(deps: Warp10ActivityDeps, input: BatchRef): Promise<BatchResult> {
  const { store } = deps;
  const { batch } = input;
  try {
    const m = await readBatch(store, input, batch);
    if (!m) throw nonRetryable('NotVerified', `batch ${batch} was never exported`, batch);
    const result = { batch, series: m.series.length, points: m.points, bytes: m.object.bytes };
    if (m.status !== 'exported') return { ...result, skipped: true };

    // One pass over the stored object: its checksum and its lines, as read back from the store.
    const { sha256: sha, lines, unreadable } = await readBack(await store.get(m.object.key));
    if (unreadable) {
      throw nonRetryable(
        'ArchiveCorrupt',
        `batch ${batch}: ${m.object.key} is not a readable gzip stream (${unreadable})`,
        batch,
      );
    }
    if (sha !== m.object.sha256) {
      throw nonRetryable(
        'ArchiveCorrupt',
        `batch ${batch}: ${m.object.key} checksum ${sha} differs from the manifest's ${m.object.sha256}`,
        batch,
      );
    }
    const withData = m.series.filter((s) => s.points > 0).length;
    if (lines !== withData) {
      throw nonRetryable(
        'ArchiveCorrupt',
        `batch ${batch}: ${m.object.key} holds ${lines} series, the manifest ${withData}`,
        batch,
      );
    }
    // The live data is compared with this manifest by the guarded delete, in the same request as the
    // DELETE: a second full read of the month here would only cost the cluster another pass.
    await writeBatch(store, input, batch, {
      ...m,
      status: 'verified',
      verifiedAt: new Date().toISOString(),
    });
    return { ...result, skipped: false };
  } catch (err) {
    throw toFailure(err, batch);
  }
}

/**
 * SHA-256 of the stored bytes and the number of lines they gunzip to, in one streaming pass; `unreadable`
 * says why the bytes are not a valid gzip stream (a corrupt object: no retry can fix it).
 */
export async function readBack(
  body: AsyncIterable<Uint8Array>,
): Promise<{ sha256: string; lines: number; unreadable?: string }> {
  const hash = createHash('sha256');
  const gunzip = createGunzip();
  const source = Readable.from(
    (async function* () {
      for await (const chunk of body) {
        hash.update(chunk);
        yield chunk;
      }
    })(),
  );
  pipeline(source, gunzip, () => {});
  let lines = 0;
  let lastByte = 0x0a;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      for (const b of chunk) if (b === 0x0a) lines++;
      if (chunk.length > 0) lastByte = chunk[chunk.length - 1] ?? lastByte;
    }
  } catch (err) {
    // zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR...) are about the bytes; a store error stays as is.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      return { sha256: hash.digest('hex'), lines, unreadable: `${code}: ${(err as Error).message}` };
    }
    throw err;
  }
  if (lastByte !== 0x0a) lines++; // a last line without newline still counts, and then fails the check
  return { sha256: hash.digest('hex'), lines };
}
