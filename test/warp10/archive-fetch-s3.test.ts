// ARCHIVE.FETCH over an S3-compatible store (real local s3rver): a second real Warp 10 with the
// extension configured for `archive.fetch.store = s3`, a month archived from it by the real archive
// workflow into the bucket; the same query with FETCH swapped reads it back point for point, by
// signed range GETs. A missing object is named relative to the archive; the endpoint, the bucket and the credentials never are.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { batchObjectKey, type MonthRef } from '../../src/archive/layout.ts';
import { freePort } from '../../src/metrics/server.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { startStandalone } from '../../scripts/stack/warp10.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { tempDir, testConfig } from '../support/config.ts';
import { utcMonth } from '../support/month.ts';
import { NASTY_POINTS, NASTY_SERIES, enc, seedNasty } from '../support/nasty-month.ts';
import { startS3Server, type TestS3Server } from '../support/s3-server.ts';
import { exec } from '../support/cold-tier.ts';
import { temporalEnv, uniqueId, warp10OrSkip } from '../support/stack.ts';

const MONTH = '2026-04';
const { S, E } = utcMonth(MONTH);
const BUCKET = 'cold-tier';
const PREFIX = 'warp10/';

let env: TestWorkflowEnvironment;
let s3: TestS3Server;
before(async () => {
  env = await temporalEnv();
  s3 = await startS3Server([BUCKET]);
});
after(async () => {
  await s3?.stop();
  await env?.teardown();
});

/** Each series as [class labels, points by tick], sorted: what to compare between FETCH and ARCHIVE.FETCH. */
async function series(url: string, script: string): Promise<unknown> {
  const r = await exec(url, `${script} <% SORT %> F LMAP`);
  if (r.error !== undefined) return r.error;
  const all = r.stack![0] as { c: string; l: Record<string, string>; a: unknown; v: unknown[] }[];
  return all
    .map((g) => [`${g.c}${JSON.stringify(Object.entries(g.l).sort())}`, g.a, g.v] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describe('ARCHIVE.FETCH over an S3-compatible store (real s3rver, real Warp 10, real Temporal)', () => {
  test('an archived month in a bucket reads back as FETCH gave it; a missing object is named without endpoint, bucket or credentials', async (t) => {
    // The stack's Warp 10 is not used, but its presence says Java and the distribution are here.
    if (!warp10OrSkip(t)) return;
    const port = await freePort();
    const instance = {
      name: `warp10-s3fetch-${port}`,
      dataDir: tempDir('s3fetch-warp10'),
      port,
      archiveStore: {
        'archive.fetch.store': 's3',
        'archive.fetch.s3.endpoint': s3.endpoint,
        'archive.fetch.s3.region': s3.region,
        'archive.fetch.s3.bucket': BUCKET,
        'archive.fetch.s3.prefix': PREFIX,
        'archive.fetch.s3.access.key.id': s3.accessKeyId,
        'archive.fetch.s3.secret.access.key': s3.secretAccessKey,
      },
    };
    let w = await startStandalone(instance);
    process.env.S3FETCH_READ = w.readToken;
    process.env.S3FETCH_WRITE = w.writeToken;
    process.env.S3FETCH_KEY_ID = s3.accessKeyId;
    process.env.S3FETCH_SECRET = s3.secretAccessKey;
    const cls = uniqueId('test.s3fetch').replace(/-/g, '.');
    const dataset = cls.replace(/[^a-z0-9]/g, '');
    const rt = buildRuntime(
      testConfig({
        warp10Url: w.url,
        tokenEnv: { read: 'S3FETCH_READ', write: 'S3FETCH_WRITE' },
        groups: [
          { name: 's3fetch', datasets: [{ name: dataset, selector: { class: cls }, seriesPerBatch: 5 }] },
        ],
        store: {
          type: 's3',
          endpoint: s3.endpoint,
          region: s3.region,
          bucket: BUCKET,
          prefix: PREFIX,
          accessKeyId: { env: 'S3FETCH_KEY_ID' },
          secretAccessKey: { env: 'S3FETCH_SECRET' },
        },
      }),
    );
    const T = `'${w.readToken}'`;
    const q = (sel: string, start: number, end: number) =>
      `{ 'token' ${T} 'selector' '${sel}' 'start' ${start} 'end' ${end} }`;
    const queries = {
      month: q(`${enc(cls)}{}`, S, E - 1),
      one: q(`${enc(cls)}{host=geo}`, S, E - 1),
      window: q(`${enc(cls)}{}`, S + 15, S + 7_200_000_000),
    };
    try {
      await seedNasty(rt, w, cls, S, E);
      const beforeArchive: Record<string, unknown> = {};
      for (const [name, query] of Object.entries(queries))
        beforeArchive[name] = await series(w.url, `${query} FETCH`);
      assert.equal((beforeArchive.month as unknown[]).length, NASTY_SERIES);

      const ref: MonthRef = { group: 's3fetch', dataset, month: MONTH };
      const [archived] = await archiveRuns(env, rt, ref);
      assert.deepEqual([archived?.status, archived?.points], ['archived', NASTY_POINTS]);
      const gone = await exec(w.url, `0 ${queries.month} FETCH <% SIZE + %> FOREACH`);
      assert.deepEqual(gone.stack, [0], 'FETCH finds nothing of the month now');

      for (const [name, query] of Object.entries(queries)) {
        assert.deepEqual(
          await series(w.url, `${T} CAPADD ${query} ARCHIVE.FETCH`),
          beforeArchive[name],
          name,
        );
      }
      // Again, from the cached index: the same.
      assert.deepEqual(
        await series(w.url, `${T} CAPADD ${queries.month} ARCHIVE.FETCH`),
        beforeArchive.month,
      );
      // Months found through the catalog the commit published: no listing of the bucket, ever; warm, one
      // HEAD of catalog.json and the series' members.
      const stats = async () =>
        (await exec(w.url, `${T} CAPADD ARCHIVE.STATS`)).stack?.[0] as {
          store: { listings: number; heads: number; gets: number; ranges: number };
          catalog: boolean;
          'preload.ms': number;
        };
      const before = await stats();
      assert.deepEqual([before.catalog, before.store.listings], [true, 0]);
      await series(w.url, `${T} CAPADD ${queries.one} ARCHIVE.FETCH`);
      const warm = await stats();
      assert.deepEqual(
        [warm.store.listings, warm.store.heads - before.store.heads, warm.store.gets - before.store.gets],
        [0, 1, 0],
        'warm: one HEAD of catalog.json, no GET',
      );
      assert.ok(warm.store.ranges - before.store.ranges >= 1, 'and the series’ members');

      // Restarted: the start reads ahead from the bucket (catalogs, footers, a few series read as queries
      // would: no listing), then the first query reads back what FETCH gave.
      await w.stop();
      w = await startStandalone(instance);
      let started = await stats();
      for (const t0 = Date.now(); started['preload.ms'] < 0 && Date.now() - t0 < 60_000;) {
        await new Promise((r) => setTimeout(r, 100));
        started = await stats();
      }
      assert.ok(started['preload.ms'] >= 0, 'the read-ahead ends');
      assert.equal(started.store.listings, 0);
      assert.ok(
        started.store.gets >= 2 && started.store.ranges >= 3,
        `catalogs, the footer and block, members: ${JSON.stringify(started.store)}`,
      );
      assert.deepEqual(
        await series(w.url, `${T} CAPADD ${queries.month} ARCHIVE.FETCH`),
        beforeArchive.month,
      );

      await rt.store.delete(batchObjectKey(ref, 2));
      const missing = await exec(w.url, `${T} CAPADD ${queries.month} ARCHIVE.FETCH`);
      // Named relative to the archive: nothing of the endpoint, the bucket or its credentials.
      assert.match(
        missing.error ?? '',
        new RegExp(`cannot read the archive: s3fetch/${dataset}/${MONTH}/batch-00002\\.wrap\\.gz is missing`),
      );
      for (const secret of [
        s3.accessKeyId,
        s3.secretAccessKey,
        s3.endpoint,
        new URL(s3.endpoint).host,
        BUCKET,
        's3://',
      ]) {
        assert.ok(!(missing.error ?? '').includes(secret), `no ${secret} in the error: ${missing.error}`);
      }
    } finally {
      await rt.close();
      await w.stop();
    }
  });
});
