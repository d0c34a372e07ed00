/**
 * The archive store: one interface, two backends (local directory, S3-compatible bucket).
 * Keys are relative POSIX paths such as `infra/os-cpu/2026-10/batch-00001.wrap.gz`.
 */

export interface PutResult {
  key: string;
  bytes: number;
  /** Lower-case hex SHA-256 of the stored bytes. */
  sha256: string;
}

export interface ObjectInfo {
  key: string;
  bytes: number;
  /** From object metadata when known (S3 `head`); absent from `list` and from the local backend. */
  sha256?: string;
}

export type PutBody = AsyncIterable<Uint8Array> | Uint8Array | string;

export interface PutProgress {
  /** 'write': bytes read from the body and written to disk (local file or S3 spool); 'upload': bytes sent to S3. */
  phase: 'write' | 'upload';
  bytes: number;
}

export interface PutOptions {
  contentType?: string;
  /** Called as the put advances (per chunk / per part), e.g. to heartbeat a long activity. Must not throw. */
  onProgress?: (progress: PutProgress) => void;
}

export interface ArchiveStore {
  /** Where the data goes, e.g. `local:/abs/path` or `s3://bucket/prefix/` (never secrets). */
  readonly description: string;
  /**
   * Streams `body` to `key`, hashing on the way; atomic (readers never see a partial object).
   * Errors thrown by the body's own iterator are rethrown unchanged, so callers can tell a failing
   * source (e.g. Warp 10) from a failing store.
   */
  put(key: string, body: PutBody, opts?: PutOptions): Promise<PutResult>;
  /** Throws NotFoundError when absent. Consume the iterable fully (or break) to release the handle. */
  get(key: string): Promise<AsyncIterable<Uint8Array>>;
  /**
   * Bytes [offset, offset + length) of the object, whole (a gzip member of a seekable batch object:
   * one series is read without its batch). Throws NotFoundError when absent; a range past the object's
   * end (checked against its size before reading) or longer than MAX_RANGE_BYTES (src/store/common.ts,
   * checked before allocating) is a StorePermanentError naming the key.
   */
  getRange(key: string, offset: number, length: number): Promise<Buffer>;
  /**
   * UTF-8 text of the object (gunzipped if it is gzip); throws NotFoundError when absent, and a
   * StorePermanentError naming the key past MAX_TEXT_BYTES (src/store/common.ts), read or gunzipped.
   */
  getText(key: string): Promise<string>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every key starting with `prefix` (plain string prefix, like S3), sorted by UTF-8 bytes. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /** Re-reads the whole object and hashes it; throws NotFoundError when absent. */
  sha256(key: string): Promise<string>;
  /** Releases connections (S3 keep-alive sockets); the store must not be used afterwards. */
  close(): Promise<void>;
}

/** Base class: `retryable` tells activities whether a retry may help. */
export abstract class StoreError extends Error {
  abstract readonly retryable: boolean;
  readonly operation: string;
  readonly key: string | undefined;
  /** Backend error code (S3 code such as `NoSuchBucket`, or errno code such as `ENOSPC`). */
  readonly code: string | undefined;
  readonly httpStatus: number | undefined;

  constructor(
    message: string,
    details: {
      operation: string;
      key?: string | undefined;
      code?: string | undefined;
      httpStatus?: number | undefined;
    },
  ) {
    super(message);
    this.name = new.target.name;
    this.operation = details.operation;
    this.key = details.key;
    this.code = details.code;
    this.httpStatus = details.httpStatus;
  }
}

/** Network errors, 5xx, throttling, full disk...: retrying later may succeed. */
export class StoreTransientError extends StoreError {
  readonly retryable = true;
}

/** Access denied, missing bucket, invalid request...: retrying will not help. */
export class StorePermanentError extends StoreError {
  readonly retryable = false;
}

/** The object does not exist (the bucket or directory itself is fine). */
export class NotFoundError extends StorePermanentError {}

/** The key (or prefix) is not an acceptable relative POSIX path. */
export class InvalidKeyError extends StorePermanentError {}

export function isTransientStoreError(err: unknown): err is StoreTransientError {
  return err instanceof StoreError && err.retryable;
}
