// One class of 100,000 series with UUID-like labels (real Temporal, real Warp 10): a large dataset is
// batched by label prefix, one selector a request, so its cost grows with its data, not with its series
// squared. Late data converges on the new batching: a point written while a batch is exported, a point
// and a brand-new series written between its verify and its delete (both inside the batch's partition),
// a value rewritten at an archived tick (found by the content digest), and a series no partition covers
// (found by the recheck). Every point of the month ends archived
// exactly once, nothing of it stays live, points outside it stay, every history stays bounded. Batches
// are pipelined: the first is deleted before the last is exported.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { archiveWorkflowId, monthManifestKey, planKey } from '../../src/archive/layout.ts';
import { MonthManifestSchema, PlanSchema } from '../../src/archive/manifest.ts';
import { monthRange } from '../../src/month.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { httpRunner, type FeedingRunner } from '../../src/warp10/runner.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import type { ArchiveResult } from '../../src/workflows/archive.ts';
import { countingRunner, describeRequests, type RequestCounts } from '../../scripts/bench/requests.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { testConfig } from '../support/config.ts';
import { assertSameTicks, decodedTicks, deletedBatches, type TickLedger } from '../support/ledger.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle } from '../support/stack.ts';

const COUNT_RANGE = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'count-range.mc2');
const MONTH = '2026-06';
const { startUs, endUs } = monthRange(MONTH, 'UTC');
const S = Number(startUs);
const E = Number(endUs);
const DAY = 86_400_000_000;
const APPS = 25_000; // x 4 instances = 100,000 series
const POINTS_PER_BATCH = 50_000; // 2 points a series: partitions of about 25,000 series
const MAX_EVENTS = 10_000;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

const key = (cls: string, labels: Record<string, string>) =>
  `${cls}{${['app', 'inst', 'zone'].map((k) => `${k}=${labels[k]}`).join(',')}}`;

test('late data: one class of 100,000 UUID-labelled series batched by label prefix; points during export and between verify and delete, a new series inside a partition and one outside all, a value rewritten at an archived tick — every point archived once (the rewrite again, newest last), nothing of the month live, one selector a request', async (t) => {
  const w = warp10OrSkip(t);
  if (!w) return;
  const cls = uniqueId('test.uuid').replace(/-/g, '.');
  const config = testConfig({
    groups: [
      {
        name: 'apps',
        datasets: [{ name: 'uuid', selector: { class: cls }, pointsPerBatch: POINTS_PER_BATCH }],
      },
    ],
  });
  const plainClient = new Warp10Client({ url: w.url });
  const inner = httpRunner(plainClient);
  // Written points of the month by series (`cls{app=..,inst=..,zone=..}`), as ticks.
  const ledger: TickLedger = new Map();
  const write = async (lines: string[], month: [string, number][]) => {
    await rt.client.update(rt.tokens.write, lines.join('\n'));
    for (const [k, ts] of month) ledger.set(k, (ledger.get(k) ?? new Set()).add(ts));
  };
  /** One series the selector matches (TOSELECTOR form, token labels left out). */
  const oneOf = async (selector: string, skip: number) => {
    const [[found]] = await inner.run<[[string]]>(
      path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'find-one.mc2'),
      { token: w.readToken, selector, skip },
    );
    return found;
  };
  const labelsOf = (sel: string) =>
    Object.fromEntries(
      sel
        .slice(sel.indexOf('{') + 1, -1)
        .split(',')
        .filter((l) => !l.startsWith('.'))
        .map((l) => l.split('=').map(decodeURIComponent) as [string, string]),
    );

  // Requests by script, and selectors named (each costs Warp 10 a scan of the class's metadata).
  const requests: RequestCounts = new Map();
  const counted = countingRunner(inner, requests);
  let exports = 0;
  let deletes = 0;
  let exportsBeforeFirstDelete = 0;
  let firstExportReadAt = Infinity;
  let secondExportAt = 0;
  const late: string[] = [];
  const rewrites = new Map<string, unknown>();
  const runner: FeedingRunner = {
    run: async (script, params, signal) => {
      if (script === 'archive-delete-partition' && ++deletes === 1) {
        exportsBeforeFirstDelete = exports;
        // Between this batch's verify and its delete: a point into one of its series, and a new
        // series inside its partition (same labels, an instance name no series has).
        const sel = params.selector as string;
        const a = labelsOf(await oneOf(sel, 3));
        await write([`${S + 5 * DAY + 1}// ${key(cls, a)} 42`], [[key(cls, a), S + 5 * DAY + 1]]);
        const b = labelsOf(await oneOf(sel, 4));
        const fresh = { ...b, inst: `${b.inst!.slice(0, 3)}zzzzz` };
        await write([`${S + 6 * DAY}// ${key(cls, fresh)} 43`], [[key(cls, fresh), S + 6 * DAY]]);
        // And a series no partition covers ('~' sorts after every hex digit): the recheck's.
        const stray = { app: randomUUID(), inst: '~stray', zone: 'par9' };
        await write([`${S + 7 * DAY}// ${key(cls, stray)} 44`], [[key(cls, stray), S + 7 * DAY]]);
        // And a value rewritten at an archived tick: same count, same ticks, new content.
        const c = key(cls, labelsOf(await oneOf(sel, 5)));
        const tick = Math.min(...ledger.get(c)!);
        await write([`${tick}// ${c} 987654`], [[c, tick]]);
        rewrites.set(`${c}@${tick}`, 987654);
        late.push(key(cls, a), key(cls, fresh), key(cls, stray), c);
      }
      return counted.run(script, params, signal);
    },
    runFed: async (script, params, feed, signal) => counted.runFed(script, params, feed, signal),
    stream: async (script, params, signal) => {
      const n = ++exports;
      if (n === 2) secondExportAt = performance.now();
      const body = await counted.stream(script, params, signal);
      if (n === 1) {
        return (async function* () {
          yield* body;
          firstExportReadAt = performance.now();
        })();
      }
      if (n === 2) {
        // While this batch is exported (Warp 10 has read it): a point into one of its series.
        const a = labelsOf(
          await oneOf((params.selector as string | undefined) ?? (params.fetch as string[])[0]!, 7),
        );
        await write([`${S + 8 * DAY}// ${key(cls, a)} 45`], [[key(cls, a), S + 8 * DAY]]);
        late.push(key(cls, a));
      }
      return body;
    },
  };
  const rt: Runtime = buildRuntime(config, { log: () => {}, runner });

  // The seed: 4 instances an app, 2 points each in the month, 1 after it for every 1,000th app.
  const seedStart = Date.now();
  let lines: string[] = [];
  let month: [string, number][] = [];
  let outside = 0;
  for (let a = 0; a < APPS; a++) {
    const app = randomUUID();
    for (let i = 0; i < 4; i++) {
      const labels = { app, inst: randomBytes(4).toString('hex'), zone: `par${i % 3}` };
      const k = key(cls, labels);
      const t1 = S + (a % 1000) * 1_000_000;
      const t2 = E - 1 - (a % 997) * 1_000_000;
      lines.push(`${t1}// ${k} ${a}`, `=${t2}// ${i}`);
      month.push([k, t1], [k, t2]);
      if (a % 1000 === 0) {
        lines.push(`=${E + a}// 0`);
        outside++;
      }
    }
    if (lines.length >= 100_000) {
      await write(lines, month);
      [lines, month] = [[], []];
    }
  }
  await write(lines, month);
  const seedMs = Date.now() - seedStart;
  const monthPoints = () => [...ledger.values()].reduce((n, s) => n + s.size, 0);
  const countRange = async (start: number, end: number) => {
    const [[series, points]] = await inner.run<[[number, number]]>(COUNT_RANGE, {
      token: w.readToken,
      class: cls,
      labels: {},
      start,
      end,
    });
    return { series, points };
  };
  assert.deepEqual(await countRange(S, E - 1), { series: APPS * 4, points: monthPoints() });

  const ref = { group: 'apps', dataset: 'uuid', month: MONTH };
  const taskQueue = uniqueId('uuid');
  const workflowId = `${archiveWorkflowId(ref)}-${taskQueue}`;
  const worker = await createOffloadWorker({
    connection: env.nativeConnection,
    runtime: rt,
    taskQueue,
    workflowBundle: await workflowBundle(),
  });
  requests.clear();
  const archiveStart = Date.now();
  const result = (await worker.runUntil(
    env.client.workflow.execute('archive', { taskQueue, workflowId, args: [ref] }),
  )) as ArchiveResult;
  const archiveMs = Date.now() - archiveStart;

  assert.equal(result.status, 'archived');
  assert.equal(late.length, 5, 'every late write happened');
  assert.equal(result.points, monthPoints(), 'the month manifest counts every point once');

  // The plan: partitions on one label, each named by one selector, none over the points bound by far.
  const plan = PlanSchema.parse(JSON.parse(await rt.store.getText(planKey(ref))));
  assert.ok(plan.partitions, 'the plan is partitioned');
  const partitions = plan.batches.filter((b) => !Array.isArray(b));
  assert.ok(partitions.length >= 3, `${partitions.length} partitions`);
  for (const p of partitions)
    assert.ok(!Array.isArray(p) && p.series <= POINTS_PER_BATCH, `${JSON.stringify(p).slice(0, 200)}`);

  // Pipelined: the first batch was deleted while later ones were still to be exported.
  assert.ok(
    exportsBeforeFirstDelete < partitions.length,
    `${exportsBeforeFirstDelete} of ${partitions.length} exports before the first delete`,
  );
  // The first export ran alone: the second began after the first one's reply was read.
  assert.ok(
    secondExportAt > firstExportReadAt,
    `second export began ${(firstExportReadAt - secondExportAt).toFixed(0)} ms before the first one's reply was read`,
  );

  // Requests: a fixed number per batch, each naming one selector; the class is scanned per request,
  // never per series.
  const manifest = MonthManifestSchema.parse(JSON.parse(await rt.store.getText(monthManifestKey(ref))));
  const batches = manifest.batches.length;
  assert.ok(batches > partitions.length, 'the uncovered series got a batch of its own');
  const exportReq = requests.get('archive-read-partition')!;
  const delReq = requests.get('archive-delete-partition')!;
  assert.equal(exportReq.selectors, exportReq.n, 'one selector per export request');
  assert.equal(delReq.selectors, delReq.n, 'one selector per guarded delete');
  // One guarded delete per partition (by digest, content hashes included); a batch that got late data
  // takes one more: the digest again after its supplement. One or two such late rounds (the export-time
  // point and the delete-time ones may fall in the same batch).
  const lateRounds = delReq.n - partitions.length;
  assert.ok(
    lateRounds === 1 || lateRounds === 2,
    `${delReq.n} guarded deletes for ${partitions.length} partitions`,
  );
  const scans = [...requests.values()].reduce((n, r) => n + r.selectors, 0);
  assert.ok(
    scans < 60,
    `${scans} selectors named in ${[...requests].map(([k, v]) => `${k} ${v.n}`).join(', ')}`,
  );

  // Every point of the month archived exactly once: the batches' objects, decoded without Warp 10.
  const deleted = await deletedBatches(rt.store, ref, manifest.batches);
  const supplements = deleted.reduce((n, m) => n + (m.supplements?.length ?? 0), 0);
  const newest = new Map<string, unknown>();
  const archived = await decodedTicks(rt.store, deleted, key, newest);
  assert.equal(supplements, lateRounds, `${supplements} supplements, one a late round`);
  assertSameTicks(archived, ledger);
  assert.deepEqual(newest, rewrites, 'the rewritten value archived again, and archived last');

  // Nothing of the month is live; the points after it are.
  assert.deepEqual(await countRange(S, E - 1), { series: 0, points: 0 });
  assert.deepEqual(await countRange(E, E + DAY), { series: outside, points: outside });

  const runs: number[] = [];
  for await (const info of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await env.client.workflow.getHandle(workflowId, info.runId).fetchHistory();
    runs.push(history.events?.length ?? 0);
  }
  for (const n of runs) assert.ok(n < MAX_EVENTS, `${n} events`);

  console.log(
    `[archive-partitions] ${APPS * 4} series, ${monthPoints()} points: seed ${(seedMs / 1000).toFixed(1)} s, ` +
      `archive ${(archiveMs / 1000).toFixed(1)} s in ${batches} batches (${partitions.length} partitions on ` +
      `'${plan.partitions.label}'), ${supplements} supplements, events per run ${runs.join(', ')}; requests: ` +
      describeRequests(requests),
  );
  await rt.close();
});

test('dry run of a partitioned dataset: at least 4 batches however few its points, every series and point counted through the partition read, nothing written to the store, nothing deleted', async (t) => {
  const w = warp10OrSkip(t);
  if (!w) return;
  const cls = uniqueId('test.dry').replace(/-/g, '.');
  // 12,000 series of 2 points: far under the default pointsPerBatch (250,000), one batch by points.
  const config = testConfig({
    groups: [{ name: 'apps', datasets: [{ name: 'dry', selector: { class: cls } }] }],
  });
  const rt: Runtime = buildRuntime(config, { log: () => {} });
  const SERIES = 12_000;
  const lines: string[] = [];
  for (let i = 0; i < SERIES; i++) {
    const k = `${cls}{app=${randomUUID()},inst=${randomBytes(4).toString('hex')},zone=par${i % 3}}`;
    lines.push(`${S + i}// ${k} ${i}`, `=${E - 1 - i}// 1`);
  }
  for (let i = 0; i < lines.length; i += 50_000)
    await rt.client.update(rt.tokens.write, lines.slice(i, i + 50_000).join('\n'));
  const ref = { group: 'apps', dataset: 'dry', month: MONTH };
  const [result] = (await archiveRuns(env, rt, { ...ref, dryRun: true })) as [ArchiveResult];

  assert.equal(result.status, 'dry-run');
  const batches = result.dryRun ?? [];
  assert.ok(batches.length >= 4, `${batches.length} batches`);
  assert.equal(
    batches.reduce((n, b) => n + b.series, 0),
    SERIES,
  );
  assert.equal(result.points, 2 * SERIES);
  assert.equal(
    batches.reduce((n, b) => n + b.points, 0),
    2 * SERIES,
  );
  assert.deepEqual(await rt.store.list(''), [], 'a dry run writes nothing');
  const [[series, points]] = await httpRunner(new Warp10Client({ url: w.url })).run<[[number, number]]>(
    COUNT_RANGE,
    { token: w.readToken, class: cls, labels: {}, start: S, end: E - 1 },
  );
  assert.deepEqual([series, points], [SERIES, 2 * SERIES], 'nothing deleted');
  await rt.close();
});
