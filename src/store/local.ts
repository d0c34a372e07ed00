/** Archive store on a local (or mounted) directory. */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  BodyReadError,
  TEMP_PREFIX,
  checkRange,
  collectText,
  compareKeys,
  hashStream,
  isMissingFileError,
  tempFileName,
  validateKey,
  validatePrefix,
  wrapFsError,
  writeBodyToFile,
  errnoCode,
  shortRange,
} from './common.ts';
import { NotFoundError, StorePermanentError } from './types.ts';
import type { ArchiveStore, ObjectInfo, PutBody, PutOptions, PutResult } from './types.ts';

const READ_CHUNK = 1024 * 1024;

export class LocalStore implements ArchiveStore {
  readonly root: string;
  readonly description: string;

  constructor(root: string) {
    if (typeof root !== 'string' || root.length === 0)
      throw new Error('LocalStore needs a root directory path');
    this.root = resolve(root);
    this.description = `local:${this.root}`;
  }

  private pathOf(key: string): string {
    return join(this.root, ...validateKey(key).split('/'));
  }

  async put(key: string, body: PutBody, opts?: PutOptions): Promise<PutResult> {
    const path = this.pathOf(key);
    const dir = dirname(path);
    // Same directory as the target so that rename() is atomic (same file system).
    const temp = join(dir, tempFileName());
    let result: { bytes: number; sha256: string };
    try {
      await mkdir(dir, { recursive: true });
      result = await writeBodyToFile(temp, body, opts?.onProgress);
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      if (err instanceof BodyReadError) throw err.cause;
      throw wrapFsError(err, 'put', this.description, key);
    }
    await syncDirectory(dir, this.description);
    return { key, ...result };
  }

  async get(key: string): Promise<AsyncIterable<Uint8Array>> {
    const handle = await this.openFile(key, 'get');
    return this.readAll(handle, key);
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    checkRange(key, offset, length);
    const handle = await this.openFile(key, 'get range');
    try {
      // The object's size first: a range past its end is refused before anything is allocated or read.
      checkRange(key, offset, length, (await handle.stat()).size);
      const buf = Buffer.alloc(length);
      let read = 0;
      while (read < length) {
        const { bytesRead } = await handle.read(buf, read, length - read, offset + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      // Shortened since its size was read.
      if (read < length) throw shortRange(key, offset, length, offset + read);
      return buf;
    } catch (err) {
      if (err instanceof StorePermanentError) throw err;
      throw wrapFsError(err, 'get range', this.description, key);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async getText(key: string): Promise<string> {
    return collectText(await this.get(key), key);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    try {
      const info = await stat(path);
      return info.isFile() ? { key, bytes: info.size } : undefined;
    } catch (err) {
      if (isMissingFileError(err)) return undefined;
      throw wrapFsError(err, 'head', this.description, key);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    validatePrefix(prefix);
    // Walk only the deepest directory the prefix pins down, then filter like S3's string prefix.
    const lastSlash = prefix.lastIndexOf('/');
    const baseKey = lastSlash >= 0 ? prefix.slice(0, lastSlash) : '';
    const out: ObjectInfo[] = [];
    try {
      await this.walk(baseKey, prefix, out);
    } catch (err) {
      throw wrapFsError(err, 'list', this.description, prefix);
    }
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      if (isMissingFileError(err)) return;
      throw wrapFsError(err, 'delete', this.description, key);
    }
  }

  async sha256(key: string): Promise<string> {
    return hashStream(await this.get(key));
  }

  async close(): Promise<void> {}

  private async openFile(key: string, operation: string): Promise<FileHandle> {
    const path = this.pathOf(key);
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, 'r');
      // open() succeeds on directories; a directory is not an object.
      if (!(await handle.stat()).isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      return handle;
    } catch (err) {
      await handle?.close().catch(() => undefined);
      if (isMissingFileError(err)) {
        throw new NotFoundError(
          `${this.description}: ${operation}: no object at key ${JSON.stringify(key)}`,
          {
            operation,
            key,
            code: 'ENOENT',
          },
        );
      }
      throw wrapFsError(err, operation, this.description, key);
    }
  }

  private async *readAll(handle: FileHandle, key: string): AsyncGenerator<Uint8Array> {
    const stream = createReadStream('', { fd: handle, highWaterMark: READ_CHUNK });
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (err) {
      throw wrapFsError(err, 'get', this.description, key);
    } finally {
      stream.destroy();
    }
  }

  private async walk(relDir: string, prefix: string, out: ObjectInfo[]): Promise<void> {
    const absDir = relDir === '' ? this.root : join(this.root, ...relDir.split('/'));
    let entries;
    try {
      entries = await readdir(absDir, { withFileTypes: true });
    } catch (err) {
      // A missing directory just means no keys; so does one deleted while we walk.
      if (isMissingFileError(err)) return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const key = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (entry.isDirectory()) {
        // Descend only where keys can still match the prefix.
        const dirKey = `${key}/`;
        if (dirKey.startsWith(prefix) || prefix.startsWith(dirKey)) await this.walk(key, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          const info = await stat(join(absDir, entry.name));
          out.push({ key, bytes: info.size });
        } catch (err) {
          if (!isMissingFileError(err)) throw err;
        }
      }
    }
  }
}

/** Makes the rename itself durable; best effort where directories cannot be fsynced. */
async function syncDirectory(dir: string, description: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') {
      throw wrapFsError(err, 'put (directory fsync)', description);
    }
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
