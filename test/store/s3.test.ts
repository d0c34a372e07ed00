import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { S3Store, normalisePrefix } from '../../src/store/s3.ts';
import type { S3StoreOptions } from '../../src/store/s3.ts';
import { createStore } from '../../src/store/index.ts';
import { NotFoundError, StorePermanentError, StoreTransientError } from '../../src/store/types.ts';
import type { StoreError } from '../../src/store/types.ts';
import { startS3Server } from '../support/s3-server.ts';
import type { TestS3Server } from '../support/s3-server.ts';
import { describeStoreContract } from './contract.ts';

const BUCKET = 'archive';
const MIB = 1024 * 1024;

/** Counts the SDK commands a store sends, by command name. */
function countCommands(store: S3Store): Map<string, number> {
  const counts = new Map<string, number>();
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      counts.set(context.commandName ?? '?', (counts.get(context.commandName ?? '?') ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: `countCommands-${Math.random()}` },
  );
  return counts;
}

function assertNoSecrets(text: string, ...secrets: string[]): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), `a secret leaked into: ${text}`);
}

let server: TestS3Server;
before(async () => {
  server = await startS3Server([BUCKET]);
});
after(async () => {
  await server?.stop();
});

function options(overrides: Partial<S3StoreOptions> = {}): S3StoreOptions {
  return {
    endpoint: server.endpoint,
    region: server.region,
    bucket: BUCKET,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    ...overrides,
  };
}

describeStoreContract('S3Store on s3rver', async () => {
  const spoolDir = await mkdtemp(join(tmpdir(), 'store-s3-spool-'));
  const store = new S3Store(options({ prefix: 'contract', partSize: 5 * MIB, listPageSize: 3, spoolDir }));
  return {
    store,
    tempFiles: async () => readdir(spoolDir),
    cleanup: async () => {
      await store.close();
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
});

describe('S3Store specifics', () => {
  const stores: S3Store[] = [];
  let raw: S3Client;
  let spoolDir: string;
  const make = (overrides: Partial<S3StoreOptions> = {}): S3Store => {
    const store = new S3Store(options({ spoolDir, ...overrides }));
    stores.push(store);
    return store;
  };

  before(async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'store-s3-spool-'));
    raw = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
  });
  after(async () => {
    for (const store of stores) await store.close();
    raw?.destroy();
    await rm(spoolDir, { recursive: true, force: true });
  });

  test('a 20 MB stream goes up as a multipart upload with the sha256 in x-amz-meta-sha256', async () => {
    const store = make({ prefix: 'multipart', partSize: 5 * MIB });
    const counts = countCommands(store);
    const hash = createHash('sha256');
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 20; i++) {
        const chunk = randomBytes(MIB);
        hash.update(chunk);
        yield chunk;
      }
    }
    const uploaded: number[] = [];
    const res = await store.put('big.wrap.gz', body(), {
      contentType: 'application/gzip',
      onProgress: (p) => {
        if (p.phase === 'upload') uploaded.push(p.bytes);
      },
    });
    const expected = hash.digest('hex');
    assert.ok(uploaded.length >= 4, `upload progress per part (${uploaded.join(', ')})`);
    assert.equal(Math.max(...uploaded), 20 * MIB);
    assert.equal(res.sha256, expected);
    assert.equal(res.bytes, 20 * MIB);
    assert.equal(counts.get('CreateMultipartUploadCommand'), 1);
    assert.equal(counts.get('UploadPartCommand'), 4);
    assert.equal(counts.get('CompleteMultipartUploadCommand'), 1);
    assert.equal(counts.get('PutObjectCommand'), undefined);

    const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'multipart/big.wrap.gz' }));
    assert.equal(head.Metadata?.['sha256'], expected);
    assert.equal(head.ContentType, 'application/gzip');
    assert.equal(head.ContentLength, 20 * MIB);
    assert.deepEqual(await store.head('big.wrap.gz'), {
      key: 'big.wrap.gz',
      bytes: 20 * MIB,
      sha256: expected,
    });
    assert.equal(await store.sha256('big.wrap.gz'), expected);
    assert.deepEqual(await readdir(spoolDir), [], 'the spool file is removed after upload');
  });

  test('small bodies go up in one PutObject, also with the sha256 metadata', async () => {
    const store = make({ prefix: 'single' });
    const counts = countCommands(store);
    const res = await store.put('one.txt', 'one');
    assert.equal(counts.get('PutObjectCommand'), 1);
    assert.equal(counts.get('CreateMultipartUploadCommand'), undefined);
    assert.equal((await store.head('one.txt'))?.sha256, res.sha256);
  });

  test('list follows continuation tokens: 7 keys with a page size of 3 take 3 requests', async () => {
    const store = make({ prefix: 'paged', listPageSize: 3 });
    const keys = Array.from(
      { length: 7 },
      (_, i) => `2026-10/batch-${String(i + 1).padStart(5, '0')}.wrap.gz`,
    );
    for (const key of keys) await store.put(key, key);
    const counts = countCommands(store);
    const listed = await store.list('2026-10/');
    assert.deepEqual(
      listed.map((o) => o.key),
      keys,
    );
    assert.deepEqual(
      listed.map((o) => o.bytes),
      keys.map((k) => k.length),
    );
    assert.equal(counts.get('ListObjectsV2Command'), 3);
  });

  test('the prefix is normalised, prepended on write and stripped on list', async () => {
    assert.equal(normalisePrefix(undefined), '');
    assert.equal(normalisePrefix(''), '');
    assert.equal(normalisePrefix('/'), '');
    assert.equal(normalisePrefix('archive/v1'), 'archive/v1/');
    assert.equal(normalisePrefix('/archive/v1/'), 'archive/v1/');
    assert.throws(() => normalisePrefix('archive/../v1'), /'\.\.'/);

    const v1 = make({ prefix: 'tenant/v1' });
    const v1Slash = make({ prefix: 'tenant/v1/' });
    const v2 = make({ prefix: 'tenant/v2' });
    const rootStore = make();
    await v1.put('infra/a.gz', 'A');
    const rawList = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'tenant/' }));
    assert.deepEqual(
      rawList.Contents?.map((o) => o.Key),
      ['tenant/v1/infra/a.gz'],
    );
    assert.deepEqual(
      (await v1Slash.list('')).map((o) => o.key),
      ['infra/a.gz'],
    );
    assert.deepEqual(await v2.list(''), []);
    assert.equal(await v2.head('infra/a.gz'), undefined);
    assert.equal(await rootStore.getText('tenant/v1/infra/a.gz'), 'A');
  });

  test('description and inspect show bucket, prefix and origin, never credentials', () => {
    const store = make({
      prefix: 'p',
      endpoint: `http://someone:pa55word@127.0.0.1:${new URL(server.endpoint).port}`,
    });
    assert.equal(store.description, `s3://${BUCKET}/p/ at ${server.endpoint}`);
    const shown = `${store.description} ${inspect(store, { depth: 5 })} ${JSON.stringify(Object.keys(store))}`;
    assertNoSecrets(shown, server.accessKeyId, server.secretAccessKey, 'pa55word');
  });

  test('createStore builds an S3Store from resolved config', async () => {
    const store = createStore(
      {
        type: 's3',
        endpoint: server.endpoint,
        region: server.region,
        bucket: BUCKET,
        prefix: 'factory',
        forcePathStyle: true,
        accessKeyId: server.accessKeyId,
        secretAccessKey: server.secretAccessKey,
      },
      { spoolDir },
    );
    try {
      assert.ok(store instanceof S3Store);
      assert.equal(store.description, `s3://${BUCKET}/factory/ at ${server.endpoint}`);
      await store.put('k', 'v');
      assert.equal(await store.getText('k'), 'v');
    } finally {
      await store.close();
    }
  });

  test('a missing bucket is a permanent error naming operation, bucket, key and code, without secrets', async () => {
    const store = make({ bucket: 'no-such-bucket', prefix: 'p' });
    async function* stream(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('streamed');
    }
    const ops: [string, () => Promise<unknown>][] = [
      ['put', () => store.put('k/obj.gz', 'buffered')],
      ['put', () => store.put('k/obj.gz', stream())],
      ['get', () => store.get('k/obj.gz')],
      ['head', () => store.head('k/obj.gz')],
      ['list', () => store.list('k/')],
      ['delete', () => store.delete('k/obj.gz')],
    ];
    for (const [op, run] of ops) {
      await assert.rejects(run, (err: unknown) => {
        assert.ok(err instanceof StorePermanentError, `${op}: permanent expected, got ${String(err)}`);
        assert.ok(!(err instanceof NotFoundError), `${op}: a missing bucket is not a missing object`);
        assert.equal(err.retryable, false);
        assert.equal(err.code, 'NoSuchBucket');
        assert.equal(err.operation, op);
        assert.match(err.message, new RegExp(`^S3 ${op} failed`));
        assert.match(err.message, /no-such-bucket/);
        assert.match(err.message, op === 'list' ? /p\/k\// : /p\/k\/obj\.gz/);
        assertNoSecrets(
          `${err.message} ${err.stack} ${inspect(err)}`,
          server.accessKeyId,
          server.secretAccessKey,
        );
        return true;
      });
    }
    assert.deepEqual(await readdir(spoolDir), [], 'the spool file is removed after a failed upload');
  });

  test('unknown credentials give a permanent 403 error without the key or secret in it', async () => {
    const accessKeyId = 'AKIAUNKNOWNKEY000042';
    const secretAccessKey = 'wrong-secret-Hh7Jj8Kk9Ll0';
    const store = make({ credentials: { accessKeyId, secretAccessKey } });
    for (const run of [
      () => store.put('x', 'y'),
      () => store.head('x'),
      () => store.list(''),
      () => store.get('x'),
    ]) {
      await assert.rejects(run, (err: unknown) => {
        assert.ok(err instanceof StorePermanentError, `permanent expected, got ${String(err)}`);
        assert.equal(err.httpStatus, 403);
        assertNoSecrets(`${err.message} ${err.stack} ${inspect(err)}`, accessKeyId, secretAccessKey);
        return true;
      });
    }
  });

  test('an unreachable endpoint is a transient error', async () => {
    // Bind then close a port so nothing listens on it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const store = make({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
    await assert.rejects(
      () => store.head('x'),
      (err: unknown) => {
        assert.ok(err instanceof StoreTransientError, `transient expected, got ${String(err)}`);
        assert.equal(err.retryable, true);
        assert.equal(err.code, 'ECONNREFUSED');
        return true;
      },
    );
  });

  test('503 SlowDown and 500 InternalError are transient; 403 AccessDenied is permanent', async () => {
    // s3rver cannot be made to throttle, so a minimal endpoint answers fixed S3 error documents.
    const answers: Record<string, [number, string]> = {
      '/slow/': [503, 'SlowDown'],
      '/broken/': [500, 'InternalError'],
      '/denied/': [403, 'AccessDenied'],
    };
    const fake = createServer((req, res) => {
      const [status, code] = Object.entries(answers).find(([path]) => req.url?.startsWith(path))?.[1] ?? [
        400,
        'BadRequest',
      ];
      req.resume();
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>fixed answer</Message></Error>`);
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
      const cases: [string, string, number, typeof StoreError][] = [
        ['slow', 'SlowDown', 503, StoreTransientError],
        ['broken', 'InternalError', 500, StoreTransientError],
        ['denied', 'AccessDenied', 403, StorePermanentError],
      ];
      for (const [bucket, code, status, kind] of cases) {
        const store = make({ endpoint, bucket, maxAttempts: 1 });
        await assert.rejects(
          () => store.get('some/key'),
          (err: unknown) => {
            assert.ok(err instanceof kind, `${code}: ${kind.name} expected, got ${String(err)}`);
            assert.equal((err as StoreError).code, code);
            assert.equal((err as StoreError).httpStatus, status);
            assert.match((err as StoreError).message, new RegExp(`bucket "${bucket}".*some/key.*${code}`));
            return true;
          },
        );
      }
    } finally {
      fake.closeAllConnections();
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  });
});
