/** Archive store on an S3-compatible bucket (Clever Cloud Cellar, Ceph RGW, AWS S3...). */
import { createReadStream } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { inspect } from 'node:util';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  BodyReadError,
  checkRange,
  collectText,
  compareKeys,
  hashStream,
  isInMemoryBody,
  sha256Hex,
  tempFileName,
  toBuffer,
  validateKey,
  validatePrefix,
  wrapFsError,
  writeBodyToFile,
  shortRange,
} from './common.ts';
import {
  InvalidKeyError,
  NotFoundError,
  StoreError,
  StorePermanentError,
  StoreTransientError,
} from './types.ts';
import type { ArchiveStore, ObjectInfo, PutBody, PutOptions, PutResult } from './types.ts';

export interface S3StoreOptions {
  endpoint: string;
  region: string;
  bucket: string;
  /** Prepended to every key; '' or undefined for the bucket root. A trailing slash is added if missing. */
  prefix?: string;
  /** true for most S3-compatible servers reached by IP or without wildcard DNS. */
  forcePathStyle?: boolean;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Multipart part size in bytes (min 5 MiB, raised automatically to stay within 10,000 parts). Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded in parallel; memory use is about partSize * queueSize. Default 4. */
  queueSize?: number;
  /** ListObjectsV2 page size (1..1000). Default 1000; small values are for tests. */
  listPageSize?: number;
  /** SDK attempts per request (the SDK retries transient errors itself). Default 3. */
  maxAttempts?: number;
  /** Where streamed bodies are spooled before upload. Default os.tmpdir(). */
  spoolDir?: string;
  connectionTimeoutMs?: number;
  /** A request fails when its socket stays idle this long. */
  socketTimeoutMs?: number;
}

const MIB = 1024 * 1024;
const MIN_PART_SIZE = 5 * MIB;
const MAX_PARTS = 10_000;
const SHA256_HEX = /^[0-9a-f]{64}$/;

const STATUS_NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  429: 'TooManyRequests',
  500: 'InternalError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** S3 error codes that mean "try again later". */
const TRANSIENT_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'RequestTimeout',
  'RequestTimeoutException',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'PriorRequestNotComplete',
  'TimeoutError',
]);

export function normalisePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  validatePrefix(trimmed);
  return `${trimmed}/`;
}

export class S3Store implements ArchiveStore {
  readonly description: string;
  readonly bucket: string;
  readonly prefix: string;
  /** Exposed for diagnostics and tests (e.g. counting requests with middleware). */
  readonly client: S3Client;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #listPageSize: number;
  readonly #spoolDir: string;
  /** Removes credential values from any text we put in an error (kept in a closure, not a field). */
  readonly #scrub: (text: string) => string;

  constructor(opts: S3StoreOptions) {
    if (!opts.bucket) throw new Error('S3Store needs a bucket');
    if (!opts.endpoint) throw new Error('S3Store needs an endpoint');
    this.bucket = opts.bucket;
    this.prefix = normalisePrefix(opts.prefix);
    // URL.origin drops any user:password@ that may have been put in the endpoint.
    let origin: string;
    try {
      origin = new URL(opts.endpoint).origin;
    } catch {
      throw new Error('S3Store endpoint is not a valid URL');
    }
    this.description = `s3://${this.bucket}/${this.prefix} at ${origin}`;
    this.#partSize = Math.max(MIN_PART_SIZE, opts.partSize ?? 8 * MIB);
    this.#queueSize = Math.max(1, opts.queueSize ?? 4);
    this.#listPageSize = Math.min(1000, Math.max(1, opts.listPageSize ?? 1000));
    this.#spoolDir = opts.spoolDir ?? tmpdir();
    const secrets = [opts.credentials.accessKeyId, opts.credentials.secretAccessKey].filter(
      (s) => s.length > 0,
    );
    this.#scrub = (text) => secrets.reduce((acc, secret) => acc.split(secret).join('***'), text);
    this.client = new S3Client({
      endpoint: opts.endpoint,
      region: opts.region,
      forcePathStyle: opts.forcePathStyle ?? false,
      credentials: {
        accessKeyId: opts.credentials.accessKeyId,
        secretAccessKey: opts.credentials.secretAccessKey,
      },
      maxAttempts: opts.maxAttempts ?? 3,
      // The SDK's default CRC32 trailers (aws-chunked bodies) are not understood by every
      // S3-compatible server (older Ceph RGW, s3rver); integrity is checked with our own sha256.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: opts.connectionTimeoutMs ?? 10_000,
        socketTimeout: opts.socketTimeoutMs ?? 120_000,
      },
    });
  }

  /** Keeps credentials out of console.log / util.inspect of the store. */
  [inspect.custom](): string {
    return `S3Store(${this.description})`;
  }

  private fullKey(key: string): string {
    const full = this.prefix + validateKey(key);
    if (Buffer.byteLength(full, 'utf8') > 1024) {
      throw new InvalidKeyError(
        `Invalid store key ${JSON.stringify(key)}: with the prefix it exceeds 1024 bytes`,
        {
          operation: 'validate',
          key,
        },
      );
    }
    return full;
  }

  async put(key: string, body: PutBody, opts?: PutOptions): Promise<PutResult> {
    const fullKey = this.fullKey(key);
    const contentType = opts?.contentType ?? 'application/octet-stream';
    if (isInMemoryBody(body)) {
      const buf = toBuffer(body);
      const sha256 = sha256Hex(buf);
      await this.upload({ fullKey, key, body: buf, bytes: buf.byteLength, sha256, contentType, opts });
      return { key, bytes: buf.byteLength, sha256 };
    }
    // S3 metadata is fixed when the (multipart) upload starts, before a streamed body's hash is
    // known; spooling to disk first gives us the hash, the exact size, and memory use of one chunk.
    const spool = join(this.#spoolDir, tempFileName());
    try {
      let written: { bytes: number; sha256: string };
      try {
        await mkdir(this.#spoolDir, { recursive: true });
        written = await writeBodyToFile(spool, body, opts?.onProgress);
      } catch (err) {
        if (err instanceof BodyReadError) throw err.cause;
        throw wrapFsError(err, 'put (spool)', this.description, key);
      }
      const stream = createReadStream(spool, { highWaterMark: MIB });
      try {
        await this.upload({ fullKey, key, body: stream, ...written, contentType, opts });
      } finally {
        stream.destroy();
      }
      return { key, ...written };
    } finally {
      // Best effort: a leftover spool file must not turn a stored object into a failed put.
      await unlink(spool).catch(() => undefined);
    }
  }

  private async upload(args: {
    fullKey: string;
    key: string;
    body: Buffer | Readable;
    bytes: number;
    sha256: string;
    contentType: string;
    opts: PutOptions | undefined;
  }): Promise<void> {
    const { fullKey, key, body, bytes, sha256, contentType, opts } = args;
    const upload = new Upload({
      client: this.client,
      queueSize: this.#queueSize,
      // Raise the part size when needed to stay within S3's 10,000-part limit.
      partSize: Math.max(this.#partSize, Math.ceil(bytes / MAX_PARTS)),
      // Abort the multipart upload on failure so no orphan parts are billed.
      leavePartsOnError: false,
      params: {
        Bucket: this.bucket,
        Key: fullKey,
        Body: body,
        ContentLength: bytes,
        ContentType: contentType,
        Metadata: { sha256 },
      },
    });
    const onProgress = opts?.onProgress;
    if (onProgress) {
      upload.on('httpUploadProgress', (p) => onProgress({ phase: 'upload', bytes: p.loaded ?? 0 }));
    }
    try {
      await upload.done();
    } catch (err) {
      throw this.wrap(err, 'put', key);
    }
  }

  async get(key: string): Promise<AsyncIterable<Uint8Array>> {
    const fullKey = this.fullKey(key);
    let body: unknown;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      body = res.Body;
    } catch (err) {
      throw this.wrap(err, 'get', key);
    }
    if (!body || typeof body !== 'object' || !(Symbol.asyncIterator in body)) {
      throw new StoreTransientError(
        `${this.description}: get of key ${JSON.stringify(key)} returned no body`,
        {
          operation: 'get',
          key,
        },
      );
    }
    return this.readAll(body as AsyncIterable<Uint8Array> & { destroy?: () => void }, key);
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    checkRange(key, offset, length);
    if (length === 0) return Buffer.alloc(0);
    let body: (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
      );
      body = res.Body as AsyncIterable<Uint8Array> & { destroy?: () => void };
      // Before the body is read: the object's size (Content-Range: bytes a-b/size) must hold the
      // range, and the reply must be the range (a server ignoring Range sends the whole object).
      const size = /\/(\d+)$/.exec(res.ContentRange ?? '')?.[1];
      if (size !== undefined) checkRange(key, offset, length, Number(size));
      if (res.ContentLength !== undefined && res.ContentLength !== length) {
        throw shortRange(key, offset, length, size === undefined ? offset + res.ContentLength : Number(size));
      }
      const chunks: Uint8Array[] = [];
      let read = 0;
      for await (const chunk of body) {
        read += chunk.byteLength;
        if (read > length) break;
        chunks.push(chunk);
      }
      const buf = Buffer.concat(chunks);
      if (buf.length !== length) throw shortRange(key, offset, length, offset + buf.length);
      return buf;
    } catch (err) {
      if (err instanceof StorePermanentError) throw err;
      // 416: the range starts at or past the object's end.
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) {
        throw new StorePermanentError(
          `get range of ${JSON.stringify(key)}: bytes ${offset} to ${offset + length} asked, the object ends before byte ${offset} (shorter than its manifest says)`,
          { operation: 'get range', key, httpStatus: 416 },
        );
      }
      throw this.wrap(err, 'get range', key);
    } finally {
      body?.destroy?.();
    }
  }

  private async *readAll(
    body: AsyncIterable<Uint8Array> & { destroy?: () => void },
    key: string,
  ): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body) yield chunk;
    } catch (err) {
      // A connection dropped mid-body: the object is fine, try again.
      throw this.wrap(err, 'get (body)', key);
    } finally {
      body.destroy?.();
    }
  }

  async getText(key: string): Promise<string> {
    return collectText(await this.get(key), key);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const fullKey = this.fullKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      const sha256 = res.Metadata?.['sha256']?.toLowerCase();
      const info: ObjectInfo = { key, bytes: res.ContentLength ?? 0 };
      if (sha256 !== undefined && SHA256_HEX.test(sha256)) info.sha256 = sha256;
      return info;
    } catch (err) {
      const wrapped = this.wrap(err, 'head', key);
      if (!(wrapped instanceof NotFoundError)) throw wrapped;
    }
    // HEAD responses have no body, so a missing bucket also reads as a plain 404: confirm the
    // bucket exists (one cheap list, only on this path) so "absent" never hides a misconfiguration.
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: fullKey, MaxKeys: 1 }));
    } catch (err) {
      throw this.wrap(err, 'head', key);
    }
    return undefined;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    validatePrefix(prefix);
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    const seen = new Set<string>();
    do {
      let res;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            MaxKeys: this.#listPageSize,
            ContinuationToken: token,
          }),
        );
      } catch (err) {
        throw this.wrap(err, 'list', prefix);
      }
      for (const obj of res.Contents ?? []) {
        if (obj.Key === undefined || !obj.Key.startsWith(this.prefix)) continue;
        out.push({ key: obj.Key.slice(this.prefix.length), bytes: obj.Size ?? 0 });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
      if (res.IsTruncated && token === undefined) {
        throw new StorePermanentError(
          `${this.description}: list of prefix ${JSON.stringify(prefix)}: server said truncated but gave no continuation token`,
          { operation: 'list', key: prefix },
        );
      }
      // A server repeating a token would make us loop forever.
      if (token !== undefined) {
        if (seen.has(token)) {
          throw new StorePermanentError(
            `${this.description}: list of prefix ${JSON.stringify(prefix)}: server repeated a continuation token`,
            { operation: 'list', key: prefix },
          );
        }
        seen.add(token);
      }
    } while (token !== undefined);
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  async delete(key: string): Promise<void> {
    const fullKey = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey }));
    } catch (err) {
      const wrapped = this.wrap(err, 'delete', key);
      // S3 answers 204 for a missing key, but some compatible servers answer 404 NoSuchKey.
      if (wrapped instanceof NotFoundError) return;
      throw wrapped;
    }
  }

  async sha256(key: string): Promise<string> {
    return hashStream(await this.get(key));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Turns an SDK error into a StoreError naming operation, bucket, key and S3 code, without secrets. */
  private wrap(err: unknown, operation: string, key: string): StoreError {
    if (err instanceof StoreError) return err;
    const e = (typeof err === 'object' && err !== null ? err : {}) as {
      name?: string;
      message?: string;
      Code?: string;
      code?: string;
      $metadata?: { httpStatusCode?: number; requestId?: string };
    };
    const httpStatus = e.$metadata?.httpStatusCode;
    let code = e.Code ?? (e.name && e.name !== 'Error' ? e.name : undefined) ?? e.code ?? 'UnknownError';
    // Bodiless answers (HEAD) carry no S3 code; the SDK then says "Unknown": name it from the status.
    if ((code === 'Unknown' || code === 'UnknownError') && httpStatus !== undefined) {
      code = STATUS_NAMES[httpStatus] ?? `HTTP${httpStatus}`;
    }
    const fullKey = this.prefix + key;
    const what = operation === 'list' ? 'prefix' : 'key';
    const detail = e.message && e.message !== code && e.message !== 'UnknownError' ? `: ${e.message}` : '';
    const message = this.#scrub(
      `S3 ${operation} failed (bucket ${JSON.stringify(this.bucket)}, ${what} ${JSON.stringify(fullKey)}): ` +
        `${code}${httpStatus !== undefined ? ` (HTTP ${httpStatus})` : ''}${detail}${howToFix(code, httpStatus)}`,
    );
    const details = { operation, key, code, httpStatus };
    if (httpStatus === 404 && (code === 'NoSuchKey' || code === 'NotFound'))
      return new NotFoundError(message, details);
    if (isTransient(code, httpStatus)) return new StoreTransientError(message, details);
    return new StorePermanentError(message, details);
  }
}

const REFUSED_CODES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden']);

/** The fix for the refusals an operator causes by configuration: wrong keys, wrong bucket. */
function howToFix(code: string, httpStatus: number | undefined): string {
  if (code === 'NoSuchBucket') {
    return '. The bucket does not exist at this endpoint: create it, or fix store.bucket (and store.endpoint)';
  }
  if (REFUSED_CODES.has(code) || httpStatus === 403 || httpStatus === 401) {
    return (
      '. The S3 service refused the credentials: check the secrets behind store.accessKeyId and ' +
      'store.secretAccessKey, and that these keys may read and write the bucket'
    );
  }
  return '';
}

function isTransient(code: string, httpStatus: number | undefined): boolean {
  if (TRANSIENT_CODES.has(code)) return true;
  if (httpStatus !== undefined) return httpStatus >= 500 || httpStatus === 408 || httpStatus === 429;
  // A bug or bad input on our side (e.g. a body chunk that is not bytes) will fail the same way again.
  if (code === 'TypeError' || code === 'RangeError' || code === 'SyntaxError') return false;
  // No HTTP answer at all (refused, reset, DNS, timeout...): the server never gave a verdict.
  return true;
}
