/** The behaviour every ArchiveStore backend must share; each backend's test file runs it. */
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createGzip } from 'node:zlib';
import { MAX_RANGE_BYTES, MAX_TEXT_BYTES } from '../../src/store/common.ts';
import { InvalidKeyError, NotFoundError, StorePermanentError } from '../../src/store/types.ts';
import type { ArchiveStore } from '../../src/store/types.ts';

export interface ContractSubject {
  store: ArchiveStore;
  /** Temp or spool files currently on disk (to prove failed puts clean up). */
  tempFiles(): Promise<string[]>;
  cleanup(): Promise<void>;
}

const MIB = 1024 * 1024;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Random bytes generated chunk by chunk (uneven sizes); the expected hash is computed on the side. */
function generated(totalBytes: number): {
  body: AsyncIterable<Uint8Array>;
  expected: { bytes: number; sha256: string };
} {
  const hash = createHash('sha256');
  const expected = { bytes: totalBytes, sha256: '' };
  async function* body(): AsyncGenerator<Uint8Array> {
    let left = totalBytes;
    let i = 0;
    while (left > 0) {
      const size = Math.min(left, 1 + ((i++ * 7919) % (256 * 1024)));
      const chunk = randomBytes(size);
      hash.update(chunk);
      left -= size;
      yield chunk;
    }
    expected.sha256 = hash.digest('hex');
  }
  return { body: body(), expected };
}

/** `bytes` zeros gzipped, streamed (a few hundred KB for hundreds of MB): a gzip bomb. */
async function gzippedZeros(bytes: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve, reject) => gz.on('end', resolve).on('error', reject));
  const chunk = Buffer.alloc(MIB);
  for (let left = bytes; left > 0; left -= MIB) {
    if (!gz.write(left >= MIB ? chunk : chunk.subarray(0, left)))
      await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

/**
 * A refusal of a read that names the object by its key in the store, and neither where the store is
 * (a host path, an endpoint, a bucket URL) nor anything else.
 */
function refusedNaming(key: string, store: ArchiveStore, pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof StorePermanentError, `StorePermanentError expected, got ${String(err)}`);
    assert.equal(err.retryable, false);
    assert.ok(err.message.includes(JSON.stringify(key)), err.message);
    assert.match(err.message, pattern);
    assert.doesNotMatch(err.message, /local:|s3:\/\/|https?:\/\//);
    assert.ok(!err.message.includes(store.description.replace(/^local:/, '')), err.message);
    return true;
  };
}

/** A body that yields `first`, then waits for release() and either ends or throws. */
function gated(first: Uint8Array) {
  let release!: (outcome: { fail?: Error }) => void;
  const gate = new Promise<{ fail?: Error }>((resolve) => (release = resolve));
  let reachedGate!: () => void;
  const paused = new Promise<void>((resolve) => (reachedGate = resolve));
  async function* body(): AsyncGenerator<Uint8Array> {
    yield first;
    reachedGate();
    const outcome = await gate;
    if (outcome.fail) throw outcome.fail;
    yield Buffer.from('-tail');
  }
  return { body: body(), paused, release };
}

const BAD_KEYS: [string, string][] = [
  ['empty', ''],
  ['absolute', '/etc/passwd'],
  ['parent segment', '../outside'],
  ['inner parent segment', 'a/../../outside'],
  ['dot segment', 'a/./b'],
  ['backslash', 'a\\b'],
  ['NUL', 'a\u0000b'],
  ['newline', 'a\nb'],
  ['DEL', 'a\u007fb'],
  ['empty segment', 'a//b'],
  ['trailing slash', 'a/b/'],
  ['only dots', '..'],
  ['too long', 'k'.repeat(1025)],
];

export function describeStoreContract(name: string, makeSubject: () => Promise<ContractSubject>): void {
  describe(`ArchiveStore contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: ArchiveStore;

    before(async () => {
      subject = await makeSubject();
      store = subject.store;
    });
    after(async () => {
      await subject?.cleanup();
    });

    test('small text round trip: put result, head, get, getText', async () => {
      const text = 'hello, archive ✓\n';
      const res = await store.put('small/hello.txt', text, { contentType: 'text/plain' });
      assert.deepEqual(res, { key: 'small/hello.txt', bytes: Buffer.byteLength(text), sha256: sha256(text) });
      const info = await store.head('small/hello.txt');
      assert.equal(info?.key, 'small/hello.txt');
      assert.equal(info?.bytes, Buffer.byteLength(text));
      if (info?.sha256 !== undefined) assert.equal(info.sha256, sha256(text));
      assert.equal(await store.getText('small/hello.txt'), text);
      const read = await drain(await store.get('small/hello.txt'));
      assert.deepEqual(read, { bytes: Buffer.byteLength(text), sha256: sha256(text) });
    });

    test('getRange reads exactly the bytes asked; a range past the end or a missing key is refused', async () => {
      const data = randomBytes(300_000);
      await store.put('range/object.bin', data);
      // (Not [0, 1]: s3rver reads `bytes=0-0` as the whole object; a gzip member is 18 bytes or more.)
      for (const [offset, length] of [
        [0, 18],
        [0, data.length],
        [123_456, 65_536],
        [data.length - 7, 7],
      ] as const) {
        const got = await store.getRange('range/object.bin', offset, length);
        assert.equal(sha256(got), sha256(data.subarray(offset, offset + length)), `${offset}+${length}`);
      }
      await assert.rejects(store.getRange('range/object.bin', data.length - 10, 20), (err: unknown) => {
        assert.ok(err instanceof StorePermanentError, `StorePermanentError expected, got ${String(err)}`);
        assert.match(String(err), /range\/object\.bin/);
        return true;
      });
      await assert.rejects(store.getRange('range/missing.bin', 0, 10), NotFoundError);
    });

    test('a Uint8Array view stores only its own bytes', async () => {
      const backing = Buffer.from('XXXXpayloadYYYY');
      const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, 7);
      const res = await store.put('small/view.bin', view);
      assert.equal(res.bytes, 7);
      assert.equal(res.sha256, sha256('payload'));
      assert.equal(await store.getText('small/view.bin'), 'payload');
    });

    test('empty bodies (string and stream) are stored as zero-byte objects', async () => {
      assert.deepEqual(await store.put('small/empty-string', ''), {
        key: 'small/empty-string',
        bytes: 0,
        sha256: EMPTY_SHA256,
      });
      async function* nothing(): AsyncGenerator<Uint8Array> {}
      const res = await store.put('small/empty-stream', nothing());
      assert.equal(res.bytes, 0);
      assert.equal(res.sha256, EMPTY_SHA256);
      assert.equal((await store.head('small/empty-stream'))?.bytes, 0);
      assert.equal(await store.getText('small/empty-stream'), '');
    });

    test('20 MB streamed body round trips with the right bytes and sha256', async () => {
      const { body, expected } = generated(20 * MIB);
      const key = 'infra/os-cpu/2026-10/batch-00001.wrap.gz';
      const written: number[] = [];
      const res = await store.put(key, body, {
        contentType: 'application/gzip',
        onProgress: (p) => {
          if (p.phase === 'write') written.push(p.bytes);
        },
      });
      assert.equal(expected.sha256.length, 64, 'the generator ran to completion');
      assert.ok(written.length > 10, `progress reported per chunk (${written.length} calls)`);
      assert.ok(
        written.every((b, i) => i === 0 || b > (written[i - 1] ?? 0)),
        'progress only grows',
      );
      assert.equal(written.at(-1), expected.bytes);
      assert.deepEqual(res, { key, bytes: expected.bytes, sha256: expected.sha256 });
      assert.equal((await store.head(key))?.bytes, expected.bytes);
      assert.deepEqual(await drain(await store.get(key)), expected);
      assert.equal(await store.sha256(key), expected.sha256);
    });

    test('sha256 re-read matches put and follows an overwrite', async () => {
      const first = await store.put('hash/obj', randomBytes(300_000));
      assert.equal(await store.sha256('hash/obj'), first.sha256);
      const second = await store.put('hash/obj', 'replaced');
      assert.notEqual(second.sha256, first.sha256);
      assert.equal(await store.sha256('hash/obj'), sha256('replaced'));
      assert.equal(await store.getText('hash/obj'), 'replaced');
      assert.equal((await store.head('hash/obj'))?.bytes, 'replaced'.length);
    });

    test('list returns every key under a prefix, sorted, with sizes (across pages)', async () => {
      // Written out of order; 7 keys so a page size of 3 needs three pages.
      const keys = [
        'm/2026-10/k4',
        'm/2026-10/k1',
        'm/2026-10/k7',
        'm/2026-10/k2',
        'm/2026-10/k6',
        'm/2026-10/k3',
      ];
      keys.push('m/2026-10/sub/k5');
      for (const [i, key] of keys.entries()) await store.put(key, 'x'.repeat(i + 1));
      await store.put('m/2026-11/other', 'other month');
      await store.put('m/2026-09/older', 'older month');
      await store.put('m/2026-100', 'sibling file sharing the string prefix');

      const listed = await store.list('m/2026-10/');
      const expected = keys
        .map((key, i) => ({ key, bytes: i + 1 }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      assert.deepEqual(
        listed.map(({ key, bytes }) => ({ key, bytes })),
        expected,
      );

      // A plain string prefix, like S3: 'm/2026-1' matches 2026-10, 2026-100 and 2026-11, not 2026-09.
      const stringPrefix = (await store.list('m/2026-1')).map((o) => o.key);
      assert.deepEqual(stringPrefix, [
        'm/2026-10/k1',
        'm/2026-10/k2',
        'm/2026-10/k3',
        'm/2026-10/k4',
        'm/2026-10/k6',
        'm/2026-10/k7',
        'm/2026-10/sub/k5',
        'm/2026-100',
        'm/2026-11/other',
      ]);
      assert.deepEqual(await store.list('m/2026-12/'), []);
      assert.deepEqual(await store.list('nothing-here/'), []);
      const all = (await store.list('')).map((o) => o.key);
      for (const key of [...keys, 'm/2026-09/older'])
        assert.ok(all.includes(key), `list('') includes ${key}`);
    });

    test('unicode and spaces in keys round trip and list', async () => {
      const key = 'clients/ünï cödé/файл 1.gz';
      await store.put(key, 'unicode');
      assert.equal(await store.getText(key), 'unicode');
      assert.deepEqual(
        (await store.list('clients/ünï')).map((o) => o.key),
        [key],
      );
    });

    test('head of a missing key is undefined; get, getText and sha256 throw NotFoundError', async () => {
      assert.equal(await store.head('missing/nothing.gz'), undefined);
      for (const read of [
        () => store.get('missing/nothing.gz'),
        () => store.getText('missing/nothing.gz'),
        () => store.sha256('missing/nothing.gz'),
      ]) {
        await assert.rejects(read, (err: unknown) => {
          assert.ok(err instanceof NotFoundError, `NotFoundError expected, got ${String(err)}`);
          assert.ok(err instanceof StorePermanentError);
          assert.equal(err.retryable, false);
          assert.match(err.message, /missing\/nothing\.gz/);
          return true;
        });
      }
    });

    test('delete removes the object and is idempotent', async () => {
      await store.put('del/obj', 'to delete');
      assert.ok(await store.head('del/obj'));
      await store.delete('del/obj');
      assert.equal(await store.head('del/obj'), undefined);
      await assert.rejects(() => store.get('del/obj'), NotFoundError);
      await store.delete('del/obj');
      await store.delete('del/never-existed');
      assert.deepEqual(await store.list('del/'), []);
    });

    test('bad keys are rejected by every operation, and nothing is written', async () => {
      for (const [why, key] of BAD_KEYS) {
        const ops: [string, () => Promise<unknown>][] = [
          ['put', () => store.put(key, 'nope')],
          ['get', () => store.get(key)],
          ['getText', () => store.getText(key)],
          ['head', () => store.head(key)],
          ['delete', () => store.delete(key)],
          ['sha256', () => store.sha256(key)],
        ];
        for (const [op, run] of ops) {
          await assert.rejects(
            run,
            InvalidKeyError,
            `${op} must reject a key with ${why}: ${JSON.stringify(key)}`,
          );
        }
      }
      for (const prefix of ['/abs', '../up', 'a/../b', 'a\\b', 'a\u0001', 'a//b']) {
        await assert.rejects(
          () => store.list(prefix),
          InvalidKeyError,
          `list must reject ${JSON.stringify(prefix)}`,
        );
      }
      const all = (await store.list('')).map((o) => o.key);
      assert.ok(
        !all.some((k) => k.includes('outside') || k.includes('passwd')),
        `unexpected keys: ${all.join(', ')}`,
      );
    });

    test('when put stops reading early, it closes the source (so e.g. an HTTP response is released)', async () => {
      let closed = false;
      async function* body(): AsyncGenerator<Uint8Array> {
        try {
          yield Buffer.from('fine');
          // Not bytes: the store gives up on this chunk and must close the source.
          yield 42 as unknown as Uint8Array;
          yield Buffer.from('never read');
        } finally {
          closed = true;
        }
      }
      await assert.rejects(() => store.put('early-stop/obj', body()), StorePermanentError);
      assert.equal(closed, true);
      assert.equal(await store.head('early-stop/obj'), undefined);
      assert.deepEqual(await subject.tempFiles(), []);
    });

    test('an in-flight put is invisible under its key; the old version stays readable', async () => {
      await store.put('atomic/obj', 'version 1');
      const source = gated(Buffer.alloc(MIB, 1));
      const putting = store.put('atomic/obj', source.body);
      await source.paused;
      assert.equal(await store.getText('atomic/obj'), 'version 1');
      assert.equal((await store.head('atomic/obj'))?.bytes, 'version 1'.length);
      assert.deepEqual(
        (await store.list('atomic/')).map((o) => o.key),
        ['atomic/obj'],
      );
      assert.equal(
        (await subject.tempFiles()).length,
        1,
        'the body is being written to exactly one temp file',
      );
      source.release({});
      const res = await putting;
      assert.equal(res.bytes, MIB + '-tail'.length);
      assert.equal((await store.head('atomic/obj'))?.bytes, MIB + '-tail'.length);
      assert.deepEqual(await subject.tempFiles(), []);
    });

    test('a failing source rejects put with its own error, stores nothing and leaves no temp file', async () => {
      const boom = new Error('warp10 fetch broke mid-stream');
      const source = gated(Buffer.alloc(2 * MIB, 2));
      const putting = store.put('failing/new-object', source.body);
      await source.paused;
      source.release({ fail: boom });
      await assert.rejects(putting, (err: unknown) => err === boom);
      assert.equal(await store.head('failing/new-object'), undefined);
      assert.deepEqual(await store.list('failing/'), []);
      assert.deepEqual(await subject.tempFiles(), []);

      // Same for an overwrite: the previous version survives intact.
      await store.put('failing/existing', 'good data');
      const again = gated(Buffer.alloc(MIB, 3));
      const overwriting = store.put('failing/existing', again.body);
      await again.paused;
      again.release({ fail: boom });
      await assert.rejects(overwriting, (err: unknown) => err === boom);
      assert.equal(await store.getText('failing/existing'), 'good data');
      assert.deepEqual(await subject.tempFiles(), []);
    });

    test('getRange refuses, before reading, a range over MAX_RANGE_BYTES, a negative one and one past the end (by the size); errors name only the key', async () => {
      const key = 'caps/member.bin';
      await store.put(key, randomBytes(1000));
      for (const length of [MAX_RANGE_BYTES + 1, 2 ** 40])
        await assert.rejects(
          store.getRange(key, 0, length),
          refusedNaming(key, store, new RegExp(`${length} bytes asked at 0, more than the 128 MiB`)),
        );
      await assert.rejects(
        store.getRange(key, -1, 10),
        refusedNaming(key, store, /whole numbers, 0 or more/),
      );
      await assert.rejects(
        store.getRange(key, 0, 1.5),
        refusedNaming(key, store, /whole numbers, 0 or more/),
      );
      await assert.rejects(
        store.getRange(key, 990, 20),
        refusedNaming(key, store, /bytes 990 to 1010 asked, the object holds 1000 bytes/),
      );
      await assert.rejects(
        store.getRange(key, 5000, 20),
        refusedNaming(key, store, /bytes 5000 to 5020 asked/),
      );
      assert.equal((await store.getRange(key, 990, 10)).length, 10);
    });

    test('getText refuses a gzip object gunzipping to more than MAX_TEXT_BYTES (a gzip bomb), naming only the key; one under it reads', async () => {
      const key = 'caps/plan.json';
      const bomb = await gzippedZeros(MAX_TEXT_BYTES + MIB);
      assert.ok(bomb.length < 2 * MIB, `${bomb.length} bytes stored`);
      await store.put(key, bomb);
      await assert.rejects(store.getText(key), (err: unknown) => {
        refusedNaming(key, store, /refused: it gunzips to more than 128 MiB/)(err);
        assert.equal((err as StorePermanentError).code, 'ObjectTooLarge');
        return true;
      });
      await store.put(key, await gzippedZeros(MIB));
      assert.equal((await store.getText(key)).length, MIB);
    });
  });
}
