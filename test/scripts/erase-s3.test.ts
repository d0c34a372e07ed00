// npm run erase over an S3-compatible store (real local s3rver): the nasty month (every value type,
// locations, URL-encoded labels, attributes) archived into a bucket, then one customer's series erased by
// label, then a series by an attribute value alone. After each: the month audits whole (verify-archive's
// audit), restore plans exactly the series left, and no object of the bucket, raw or gunzipped, names what
// was erased.
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { auditMonth } from '../../src/archive/audit.ts';
import { readMonthManifest } from '../../src/archive/read.ts';
import { planRestore } from '../../src/restore/plan.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { archiveRuns, eraseRun } from '../support/archive-run.ts';
import { testConfig } from '../support/config.ts';
import { utcMonth } from '../support/month.ts';
import { NASTY_POINTS, NASTY_SERIES, enc, seedNasty } from '../support/nasty-month.ts';
import { startS3Server, type TestS3Server } from '../support/s3-server.ts';
import { temporalEnv, uniqueId, warp10OrSkip } from '../support/stack.ts';

const MONTH = '2024-06';
const BUCKET = 'erase-s3';
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

describe('npm run erase over an S3-compatible store (real s3rver, real Warp 10, real Temporal)', () => {
  test('series erased by label, then by an attribute alone: the month audits whole, restore plans the rest, no object names them', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    process.env.ERASE_S3_KEY_ID = s3.accessKeyId;
    process.env.ERASE_S3_SECRET = s3.secretAccessKey;
    const cls = uniqueId('test.erases3').replace(/-/g, '.');
    const dataset = cls.replace(/[^a-z0-9]/g, '');
    const rt = buildRuntime(
      testConfig({
        warp10Url: w.url,
        groups: [
          { name: 'infra', datasets: [{ name: dataset, selector: { class: cls }, seriesPerBatch: 5 }] },
        ],
        store: {
          type: 's3',
          endpoint: s3.endpoint,
          region: s3.region,
          bucket: BUCKET,
          prefix: PREFIX,
          accessKeyId: { env: 'ERASE_S3_KEY_ID' },
          secretAccessKey: { env: 'ERASE_S3_SECRET' },
        },
      }),
    );
    const ref = { group: 'infra', dataset, month: MONTH };
    const erase = (selector: string) => eraseRun(env, rt, { selector, from: MONTH, to: MONTH });
    /** Every object of the bucket's month and catalogs, raw and gunzipped. */
    const everything = async () => {
      const out: [string, string][] = [];
      for (const o of await rt.store.list('')) {
        const chunks: Uint8Array[] = [];
        for await (const c of await rt.store.get(o.key)) chunks.push(c);
        const raw = Buffer.concat(chunks);
        const text =
          raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw).toString('latin1') : raw.toString('latin1');
        out.push([o.key, `${raw.toString('latin1')}\n${text}`]);
      }
      return out;
    };
    try {
      const { S, E } = utcMonth(MONTH);
      await seedNasty(rt, w, cls, S, E);
      const [archived] = await archiveRuns(env, rt, ref);
      assert.equal(archived?.points, NASTY_POINTS);
      assert.ok(
        (await everything()).some(([, text]) => text.includes('customer-1')),
        'archived first',
      );

      // One customer's series by label: h1 and h4 (owner=customer-1), one point each.
      const byLabel = await erase(`${enc(cls)}{owner=customer-1}`);
      assert.deepEqual(
        byLabel.months.map((m) => [m.month, m.status, m.series, m.points]),
        [[MONTH, 'erased', 2, 2]],
      );
      let audit = await auditMonth(rt.store, ref);
      assert.ok(audit.ok, JSON.stringify(audit.problems));
      let plan = await planRestore(rt.store, ref);
      assert.deepEqual([plan.series, plan.points], [NASTY_SERIES - 2, NASTY_POINTS - 2]);
      const mine = (all: [string, string][]) =>
        all.filter(([key]) => key.startsWith(`infra/${dataset}/`) || key === 'catalog.json');
      const checked = mine(await everything());
      assert.ok(checked.length >= 8, `the month's objects, manifests, index and catalogs: ${checked.length}`);
      for (const [key, text] of checked) {
        assert.ok(!text.includes('customer-1'), `${key} names the erased customer`);
      }

      // A series selected by its attribute alone (host=a: tier=gold), as Warp 10's selectors select it.
      const byAttribute = await erase(`${enc(cls)}{tier=gold}`);
      assert.deepEqual(
        byAttribute.months.map((m) => [m.status, m.series]),
        [['erased', 1]],
      );
      audit = await auditMonth(rt.store, ref);
      assert.ok(audit.ok, JSON.stringify(audit.problems));
      plan = await planRestore(rt.store, ref);
      assert.equal(plan.series, NASTY_SERIES - 3);
      for (const [key, text] of mine(await everything())) {
        if (key === 'catalog.json') continue; // other tests' datasets share the bucket's root catalog
        assert.ok(!text.includes('gold') && !text.includes('ops, night'), `${key} names the erased series`);
      }
      assert.equal((await readMonthManifest(rt.store, ref))?.revision, 3, 'two erasures: two revisions more');
    } finally {
      await rt.close();
    }
  });
});
