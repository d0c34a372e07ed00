/** Helpers shared by the store backends: key validation, body normalisation, spooling, error mapping. */
import { gunzipSync } from 'node:zlib';
import { createHash, randomUUID } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { InvalidKeyError, NotFoundError, StorePermanentError, StoreTransientError } from './types.ts';
import type { PutBody, PutProgress, StoreError } from './types.ts';

/** Local temp files start with this; keys may not, so a temp file can never shadow a real object. */
export const TEMP_PREFIX = '.~tmp-';

/** S3's limit on key length; applied to every backend so a key valid locally is valid on S3. */
const MAX_KEY_BYTES = 1024;

// C0 controls, DEL and C1 controls: invisible in logs and rejected or mangled by some S3 servers.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

function invalid(what: string, value: string, why: string): InvalidKeyError {
  return new InvalidKeyError(`Invalid store ${what} ${JSON.stringify(value)}: ${why}`, {
    operation: 'validate',
    key: value,
  });
}

function checkPath(what: 'key' | 'prefix', value: unknown, allowTrailingSlash: boolean): string {
  if (typeof value !== 'string') throw invalid(what, String(value), 'must be a string');
  if (value.length === 0) throw invalid(what, value, 'must not be empty');
  if (Buffer.byteLength(value, 'utf8') > MAX_KEY_BYTES) {
    throw invalid(what, value, `longer than ${MAX_KEY_BYTES} bytes`);
  }
  if (value.startsWith('/')) throw invalid(what, value, 'must be relative (no leading /)');
  if (value.includes('\\')) throw invalid(what, value, 'must not contain backslashes');
  if (CONTROL_CHARS.test(value)) throw invalid(what, value, 'must not contain control characters');
  const segments = value.split('/');
  // A trailing slash yields one empty last segment, allowed for prefixes only.
  if (allowTrailingSlash && segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  for (const segment of segments) {
    if (segment === '') throw invalid(what, value, 'must not contain empty segments (// or trailing /)');
    if (segment === '.' || segment === '..')
      throw invalid(what, value, `must not contain '${segment}' segments`);
    if (segment.startsWith(TEMP_PREFIX)) {
      throw invalid(what, value, `segments must not start with '${TEMP_PREFIX}' (reserved for temp files)`);
    }
  }
  return value;
}

/** Keys are canonical relative POSIX paths, so two different keys never name the same object. */
export function validateKey(key: string): string {
  return checkPath('key', key, false);
}

/** A prefix is '' (everything) or key-like, optionally ending with '/'. */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  return checkPath('prefix', prefix, true);
}

/** S3 lists keys in UTF-8 byte order; both backends sort that way so results compare equal. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function toBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

export function isInMemoryBody(body: PutBody): body is Uint8Array | string {
  return typeof body === 'string' || body instanceof Uint8Array;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function hashStream(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * The most text getText hands back, gunzipped (and the most bytes it reads to get there). What it reads
 * are the archive's JSON documents: plans, month and batch manifests, failure reports. The largest is a
 * batch manifest of a partition (at most 100,000 series, a few hundred bytes each: tens of megabytes). An
 * object past this is damaged or hostile (a gzip bomb): it is refused, never inflated into memory.
 */
export const MAX_TEXT_BYTES = 128 * 1024 * 1024;

/**
 * The longest range getRange reads, checked before anything is allocated or read. Ranges are members of
 * a seekable batch object: about 512 KiB of lines each compressed (src/archive/members.ts), or one
 * series' line when a series alone is longer. A manifest naming more is damaged or hostile.
 */
export const MAX_RANGE_BYTES = 128 * 1024 * 1024;

/** A size as the errors say it: whole MiB, or bytes. */
const mib = (n: number) =>
  n >= 1024 * 1024 && n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`;

/** An object too large to read whole: named by its key in the store, never by the store's location. */
function tooLarge(operation: string, key: string, what: string): StorePermanentError {
  return new StorePermanentError(`${operation} of ${JSON.stringify(key)} refused: ${what}`, {
    operation,
    key,
    code: 'ObjectTooLarge',
  });
}

/**
 * The text of object `key`. A gzip object (magic 1f 8b; large batch manifests are written so) is
 * gunzipped: no JSON or text document starts with those bytes, so readers never need to know which it is.
 * At most `limit` bytes (MAX_TEXT_BYTES) are read, and at most `limit` produced by gunzip.
 */
export async function collectText(
  stream: AsyncIterable<Uint8Array>,
  key: string,
  limit = MAX_TEXT_BYTES,
): Promise<string> {
  const chunks: Buffer[] = [];
  let read = 0;
  // Leaving the loop early releases the body (the backends' iterators close their file or socket).
  for await (const chunk of stream) {
    read += chunk.byteLength;
    if (read > limit) throw tooLarge('get text', key, `the object is larger than ${mib(limit)}`);
    chunks.push(toBuffer(chunk));
  }
  const bytes = Buffer.concat(chunks);
  const gzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (!gzip) return bytes.toString('utf8');
  const text = gunzipWithin(bytes, limit);
  if (text === undefined) throw tooLarge('get text', key, `it gunzips to more than ${mib(limit)}`);
  return text;
}

/** The UTF-8 text `bytes` gunzip to, or undefined past `limit` bytes of it (a gzip bomb is never inflated whole). */
export function gunzipWithin(bytes: Uint8Array, limit: number): string | undefined {
  try {
    return gunzipSync(bytes, { maxOutputLength: limit }).toString('utf8');
  } catch (err) {
    if (errnoCode(err) === 'ERR_BUFFER_TOO_LARGE') return undefined;
    throw err;
  }
}

/**
 * Checks a range before anything is read: whole non-negative numbers, at most MAX_RANGE_BYTES long, and
 * inside the object when its size (`size`) is known.
 */
export function checkRange(key: string, offset: number, length: number, size?: number): void {
  const operation = 'get range';
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new StorePermanentError(
      `${operation} of ${JSON.stringify(key)} refused: offset ${offset} and length ${length} must be whole numbers, 0 or more`,
      { operation, key },
    );
  }
  if (length > MAX_RANGE_BYTES) {
    throw tooLarge(
      operation,
      key,
      `${length} bytes asked at ${offset}, more than the ${mib(MAX_RANGE_BYTES)} a range may be (a manifest naming it is damaged)`,
    );
  }
  if (size !== undefined && offset + length > size) throw shortRange(key, offset, length, size);
}

/** Thrown by writeBodyToFile when the body's iterator fails: callers rethrow `cause` unchanged. */
export class BodyReadError extends Error {
  constructor(override readonly cause: unknown) {
    super('the body stream failed');
  }
}

export function tempFileName(): string {
  return `${TEMP_PREFIX}${randomUUID()}`;
}

/**
 * Writes `body` to a new file at `path` (exclusive create), hashing on the way, then fsyncs it.
 * On any failure the file is removed. Memory use is one chunk at a time.
 */
export async function writeBodyToFile(
  path: string,
  body: PutBody,
  onProgress?: (progress: PutProgress) => void,
): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let iterator: AsyncIterator<Uint8Array> | undefined;
  const fh = await open(path, 'wx', 0o644);
  try {
    const write = async (buf: Buffer): Promise<void> => {
      hash.update(buf);
      let offset = 0;
      // FileHandle.write may write less than asked; loop until the chunk is fully on disk.
      while (offset < buf.byteLength) {
        const { bytesWritten } = await fh.write(buf, offset, buf.byteLength - offset);
        offset += bytesWritten;
      }
      bytes += buf.byteLength;
      onProgress?.({ phase: 'write', bytes });
    };
    if (isInMemoryBody(body)) {
      await write(toBuffer(body));
    } else {
      iterator = body[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await iterator.next();
        } catch (err) {
          iterator = undefined; // a failed iterator is finished; nothing to release
          throw new BodyReadError(err);
        }
        if (next.done) {
          iterator = undefined;
          break;
        }
        await write(toBuffer(next.value));
      }
    }
    await fh.sync();
  } catch (err) {
    // We stop reading early (disk error): let the source release its connection or file.
    await iterator?.return?.().catch(() => undefined);
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw err;
  }
  try {
    await fh.close();
  } catch (err) {
    await unlink(path).catch(() => undefined);
    throw err;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Errno codes where waiting (freeing space, fewer open files, a remount) can make a retry succeed. */
const TRANSIENT_ERRNO = new Set([
  'ENOSPC',
  'EDQUOT',
  'EMFILE',
  'ENFILE',
  'EAGAIN',
  'EBUSY',
  'EIO',
  'ETIMEDOUT',
  'EINTR',
]);

export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}

export function isMissingFileError(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Maps a file-system error to a StoreError; the message names the store, operation, key and errno code. */
export function wrapFsError(err: unknown, operation: string, where: string, key?: string): StoreError {
  if (err instanceof StoreTransientError || err instanceof StorePermanentError) return err;
  const code = errnoCode(err);
  const reason = err instanceof Error ? err.message : String(err);
  const message = `${where}: ${operation} failed${key !== undefined ? ` for key ${JSON.stringify(key)}` : ''}: ${reason}`;
  const details = { operation, key, code };
  if (isMissingFileError(err) && operation !== 'put') return new NotFoundError(message, details);
  return code !== undefined && TRANSIENT_ERRNO.has(code)
    ? new StoreTransientError(message, details)
    : new StorePermanentError(message, details);
}

/** A range read that the object does not hold (a manifest listing a member past the object's end). */
export function shortRange(key: string, offset: number, length: number, size: number): StorePermanentError {
  return new StorePermanentError(
    `get range of ${JSON.stringify(key)}: bytes ${offset} to ${offset + length} asked, ` +
      `the object holds ${size} bytes (shorter than its manifest says)`,
    { operation: 'get range', key },
  );
}
