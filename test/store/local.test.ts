import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { LocalStore } from '../../src/store/local.ts';
import { createStore } from '../../src/store/index.ts';
import { TEMP_PREFIX } from '../../src/store/common.ts';
import { NotFoundError, StorePermanentError, StoreTransientError } from '../../src/store/types.ts';
import { describeStoreContract } from './contract.ts';

/** Every temp file under `dir`, as paths relative to it. */
async function tempFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && e.name.startsWith(TEMP_PREFIX))
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

describeStoreContract('LocalStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'store-local-contract-'));
  return {
    store: new LocalStore(root),
    tempFiles: () => tempFilesUnder(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe('LocalStore specifics', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'store-local-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  test('description is local: plus the absolute root, and createStore builds a LocalStore', () => {
    const store = createStore({ type: 'local', path: join(base, 'via-factory') });
    assert.ok(store instanceof LocalStore);
    assert.equal(store.description, `local:${join(base, 'via-factory')}`);
    const relativeStore = new LocalStore('some/relative/dir');
    assert.equal(relativeStore.description, `local:${join(process.cwd(), 'some/relative/dir')}`);
  });

  test('creates the root and nested directories; the key maps to the same relative path on disk', async () => {
    const root = join(base, 'not', 'yet', 'there');
    const store = new LocalStore(root);
    const key = 'infra/os-cpu/2026-10/batch-00001.wrap.gz';
    await store.put(key, 'payload');
    assert.equal(
      await readFile(join(root, 'infra', 'os-cpu', '2026-10', 'batch-00001.wrap.gz'), 'utf8'),
      'payload',
    );
  });

  test('the temp file lives in the target directory while the body streams', async () => {
    const root = join(base, 'tempdir');
    const store = new LocalStore(root);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const paused = new Promise<void>((resolve) => (reached = resolve));
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('first half,');
      reached();
      await gate;
      yield Buffer.from('second half');
    }
    const putting = store.put('a/b/c.gz', body());
    await paused;
    const temps = await tempFilesUnder(root);
    assert.equal(temps.length, 1);
    assert.equal(relative('a/b', temps[0] ?? '').startsWith('..'), false, `temp file ${temps[0]} is in a/b`);
    // The first chunk already reached the disk: the body is streamed, not buffered until the end.
    assert.equal((await stat(join(root, temps[0] ?? ''))).size, 'first half,'.length);
    release();
    await putting;
    assert.equal(await readFile(join(root, 'a/b/c.gz'), 'utf8'), 'first half,second half');
    assert.deepEqual(await tempFilesUnder(root), []);
  });

  test('temp files and directories are not objects', async () => {
    const root = join(base, 'hidden');
    const store = new LocalStore(root);
    await store.put('d/real', 'real');
    await writeFile(join(root, 'd', `${TEMP_PREFIX}left-by-a-crash`), 'partial');
    await mkdir(join(root, 'd', 'subdir'));
    assert.deepEqual(
      (await store.list('d/')).map((o) => o.key),
      ['d/real'],
    );
    assert.equal(await store.head('d/subdir'), undefined);
    await assert.rejects(() => store.get('d/subdir'), NotFoundError);
    await assert.rejects(() => store.put(`d/${TEMP_PREFIX}x`, 'y'), /reserved for temp files/);
  });

  test('keys cannot escape the root', async () => {
    const root = join(base, 'jail');
    const store = new LocalStore(root);
    await assert.rejects(() => store.put('../escaped.txt', 'x'), /parent|'\.\.'/);
    await assert.rejects(() => stat(join(base, 'escaped.txt')), { code: 'ENOENT' });
  });

  test('a root that is a regular file gives a permanent error naming the key and errno code', async () => {
    const file = join(base, 'i-am-a-file');
    await writeFile(file, 'not a directory');
    const store = new LocalStore(file);
    await assert.rejects(
      () => store.put('x/y.gz', 'data'),
      (err: unknown) => {
        assert.ok(err instanceof StorePermanentError, `permanent expected, got ${String(err)}`);
        assert.ok(!(err instanceof StoreTransientError));
        assert.equal(err.retryable, false);
        assert.match(err.message, /x\/y\.gz/);
        assert.match(String(err.code), /^(ENOTDIR|EEXIST)$/);
        return true;
      },
    );
    assert.equal(await readFile(file, 'utf8'), 'not a directory');
  });
});
