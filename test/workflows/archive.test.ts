// The archive workflow end to end: real Temporal dev server, real Warp 10, real archive store.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { monthManifestKey, batchObjectKey } from '../../src/archive/layout.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { temporalEnv, uniqueId, warp10OrSkip, type Warp10Stack } from '../support/stack.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { dumpClass, storedLines, unwrapLines } from '../support/points.ts';
import { testConfig } from '../support/config.ts';
import { toInputFormat, type SeedSeries } from '../support/seed.ts';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, startS3Server } from '../support/s3-server.ts';
import { utcMonth } from '../support/month.ts';

const MONTH = '2026-10';
const { S, E } = utcMonth(MONTH);

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

/** Every point of a class in Warp 10, by selector: [ts, value][] oldest first. */
async function livePoints(w: Warp10Stack, cls: string): Promise<Map<string, [number, unknown][]>> {
  return new Map(
    (await dumpClass(w, cls)).map(([sel, ticks, values]) => [
      sel,
      ticks.map((t, i) => [t, values[i]] as [number, unknown]),
    ]),
  );
}

/** Reads a batch object back through stock WarpScript UNWRAP in Warp 10. */
async function unwrapArchive(rt: Runtime, w: Warp10Stack, key: string) {
  return unwrapLines(w, await storedLines(rt.store, [key]));
}

function seedData(cls: string): SeedSeries[] {
  return [
    {
      cls,
      labels: { host: 'a' },
      points: [
        { ts: S - 1, value: 1 }, // last µs of the previous month: must stay
        { ts: S, value: 2 }, // first µs of the month
        { ts: S + 3_600_000_000, value: 3 },
        { ts: E - 1, value: 4 }, // last µs of the month
        { ts: E, value: 5 }, // first µs of the next month: must stay
      ],
    },
    {
      cls,
      labels: { host: 'b, c{d}=\'e"f été' },
      points: [
        { ts: S + 10, value: 'a string with spaces, quotes \' " and braces {}' },
        { ts: S + 20, value: 'été ✓' },
      ],
    },
    {
      cls,
      labels: { host: 'bool' },
      points: [
        { ts: S + 20, value: true },
        { ts: S + 21, value: false },
      ],
    },
    {
      cls,
      labels: { host: 'dbl' },
      points: [
        { ts: S + 30, value: 2.5 },
        { ts: S + 31, value: -0.125 },
      ],
    },
    {
      cls,
      labels: { host: 'geo' },
      points: [
        { ts: S + 100, value: 10, lat: 48.85, lon: 2.35, elev: 35 },
        { ts: S + 200, value: 11, lat: 45.76, lon: 4.83, elev: 170 },
      ],
    },
    // A series with more labels than `host=a`: the guarded delete must not mix them up.
    { cls, labels: { host: 'a', core: '1' }, points: [{ ts: S + 5, value: 7 }] },
    // Another class: outside the selector, never touched.
    { cls: `${cls}.other`, labels: { host: 'a' }, points: [{ ts: S + 5, value: 8 }] },
  ];
}

describe('archive workflow (real Temporal, real Warp 10)', () => {
  test('archives a month: every point in the archive, none left in the month, the rest untouched', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.archive').replace(/-/g, '.');
    const config = testConfig({
      groups: [{ name: 'infra', datasets: [{ name: 'ds', selector: { class: cls }, seriesPerBatch: 2 }] }],
    });
    const rt = buildRuntime(config);
    const seed = seedData(cls);
    await rt.client.update(rt.tokens.write, toInputFormat(seed));
    const before = await livePoints(w, cls);
    assert.equal(before.size, 6);

    const ref = { group: 'infra', dataset: 'ds', month: MONTH };
    // A second run of the same month does nothing and says so.
    const [result, again] = await archiveRuns(env, rt, ref, 2);
    assert.ok(result && again);
    assert.equal(result.status, 'archived');
    assert.equal(result.series, 6);
    assert.equal(result.points, 3 + 2 + 2 + 2 + 2 + 1);

    // In the archive, read back by stock UNWRAP: exactly the month's points, values and locations.
    const unwrapped = new Map<
      string,
      { ticks: number[]; values: unknown[]; lats: number[]; elevs: number[] }
    >();
    for (let b = 1; b <= result.batches; b++) {
      for (const [sel, ticks, values, lats, , elevs] of await unwrapArchive(rt, w, batchObjectKey(ref, b))) {
        unwrapped.set(sel, { ticks, values, lats, elevs });
      }
    }
    const find = (pred: (sel: string) => boolean) => [...unwrapped.entries()].find(([sel]) => pred(sel))?.[1];
    const hostA = find((sel) => sel.endsWith(',host=a}') && !sel.includes('core='));
    assert.equal(unwrapped.size, 6);
    assert.deepEqual(hostA?.ticks, [S, S + 3_600_000_000, E - 1]);
    assert.deepEqual(hostA?.values, [2, 3, 4]);
    assert.deepEqual(find((sel) => sel.includes('core=1'))?.values, [7]);
    const special = find((sel) => sel.includes('%C3%A9t%C3%A9'));
    assert.deepEqual(special?.values, ['a string with spaces, quotes \' " and braces {}', 'été ✓']);
    assert.deepEqual(find((sel) => sel.includes('host=bool'))?.values, [true, false]);
    assert.deepEqual(find((sel) => sel.includes('host=dbl'))?.values, [2.5, -0.125]);
    const geo = find((sel) => sel.includes('host=geo'));
    assert.deepEqual(geo?.elevs, [35, 170]);
    assert.ok(Math.abs((geo?.lats[0] ?? 0) - 48.85) < 1e-6);

    // In Warp 10: nothing of the month left for the selector; the boundaries and the other class stay.
    const afterArchive = await livePoints(w, cls);
    const remaining = [...afterArchive.values()].flat();
    assert.deepEqual(
      remaining.map(([ts]) => ts).sort((a, b) => a - b),
      [S - 1, E],
    );
    const other = await livePoints(w, `${cls}.other`);
    assert.equal([...other.values()].flat().length, 1);

    // The month's manifest is the commit marker.
    const manifest = JSON.parse(await rt.store.getText(monthManifestKey(ref)));
    assert.equal(manifest.points, 12);

    assert.equal(again.status, 'skipped');
    assert.match(again.reason ?? '', /already archived/);
    await rt.close();
  });

  test('archives into an S3-compatible store (real local S3 server), objects checksummed in metadata', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const s3 = await startS3Server(['archive']);
    process.env.TEST_S3_KEY_ID = TEST_ACCESS_KEY_ID;
    process.env.TEST_S3_SECRET = TEST_SECRET_ACCESS_KEY;
    try {
      const cls = uniqueId('test.s3').replace(/-/g, '.');
      const config = testConfig({
        store: {
          type: 's3',
          endpoint: s3.endpoint,
          bucket: 'archive',
          prefix: 'warp10/',
          accessKeyId: { env: 'TEST_S3_KEY_ID' },
          secretAccessKey: { env: 'TEST_S3_SECRET' },
        },
        groups: [
          { name: 'infra', datasets: [{ name: 's3ds', selector: { class: cls }, seriesPerBatch: 2 }] },
        ],
      });
      const rt = buildRuntime(config);
      await rt.client.update(rt.tokens.write, toInputFormat(seedData(cls).filter((x) => x.cls === cls)));
      const ref = { group: 'infra', dataset: 's3ds', month: MONTH };
      const [result] = await archiveRuns(env, rt, ref);
      assert.ok(result);
      assert.equal(result.status, 'archived');
      assert.equal(result.points, 12);
      const keys = (await rt.store.list('infra/s3ds/')).map((o) => o.key);
      assert.equal(keys.filter((k) => k.endsWith('.wrap.gz')).length, result.batches);
      assert.ok(keys.includes(monthManifestKey(ref)));
      const head = await rt.store.head(batchObjectKey(ref, 1));
      assert.match(head?.sha256 ?? '', /^[0-9a-f]{64}$/);
      assert.equal(head?.sha256, await rt.store.sha256(batchObjectKey(ref, 1)));
      let points = 0;
      for (let b = 1; b <= result.batches; b++) {
        for (const [, ticks] of await unwrapArchive(rt, w, batchObjectKey(ref, b))) points += ticks.length;
      }
      assert.equal(points, 12, 'every archived point reads back through UNWRAP from S3');
      await rt.close();
    } finally {
      await s3.stop();
    }
  });
});
