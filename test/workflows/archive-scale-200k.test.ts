// 200,000 series on the real Temporal dev server and the real Warp 10, selected by a class regex over
// 200 classes (how large datasets look in production: one class of 200,000 series costs Warp 10 a
// metadata scan of the whole class per selector, see docs/ARCHIVING.md "Few selectors per request").
// The archive finishes, every history of its continue-as-new chain stays bounded, the month is gone and
// the points outside it stay. Prints the wall time of the seed and of the archive, and the events per run.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { archiveWorkflowId, monthManifestKey } from '../../src/archive/layout.ts';
import { MonthManifestSchema } from '../../src/archive/manifest.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { archiveProgress, type ArchiveResult } from '../../src/workflows/archive.ts';
import { testConfig } from '../support/config.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle } from '../support/stack.ts';
import { utcMonth } from '../support/month.ts';

const COUNT_RANGE = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'count-range.mc2');
const MONTH = '2026-07';
const { S, E } = utcMonth(MONTH);
const DAY = 86_400_000_000;
const CLASSES = 200;
const PER_CLASS = 1_000;
const SERIES = CLASSES * PER_CLASS;
const PER_BATCH = 5_000;
const MAX_EVENTS = 10_000;
const UPDATE_LINES = 100_000;

// Series k (class k / PER_CLASS, label s = k % PER_CLASS): one point in the month, a second one for
// even k; a point after the month for s = 7 and one before it for s = 500 (one of each per class).
const inMonth = (k: number) => (k % 2 === 0 ? 2 : 1);
const after1 = (k: number) => k % PER_CLASS === 7;
const before1 = (k: number) => k % PER_CLASS === 500;
let MONTH_POINTS = 0;
let OUTSIDE_AFTER = 0;
let OUTSIDE_BEFORE = 0;
for (let k = 0; k < SERIES; k++) {
  MONTH_POINTS += inMonth(k);
  if (after1(k)) OUTSIDE_AFTER++;
  if (before1(k)) OUTSIDE_BEFORE++;
}

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
const msOf = (e: HistoryEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

/** Where the time went: per activity type, how many completed, their total and longest duration. */
function activityTimes(
  events: HistoryEvent[],
  into: Map<string, { n: number; sumMs: number; maxMs: number }>,
) {
  const type = new Map<number, string>();
  const started = new Map<number, number>();
  for (const e of events) {
    const id = Number(e.eventId);
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) type.set(id, scheduled.activityType?.name ?? '?');
    const start = e.activityTaskStartedEventAttributes;
    if (start) started.set(Number(start.scheduledEventId), msOf(e));
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const sid = Number(done.scheduledEventId);
      const ms = msOf(e) - (started.get(sid) ?? msOf(e));
      const name = type.get(sid) ?? '?';
      const t = into.get(name) ?? { n: 0, sumMs: 0, maxMs: 0 };
      into.set(name, { n: t.n + 1, sumMs: t.sumMs + ms, maxMs: Math.max(t.maxMs, ms) });
    }
  }
}

test('200,000 series over 200 classes (class regex): archived, every history under 10,000 events, the month gone, points outside it kept', async (t) => {
  const w = warp10OrSkip(t);
  if (!w) return;
  const prefix = uniqueId('test.big').replace(/-/g, '.');
  const classRegex = `^${prefix.replace(/\./g, '\\.')}\\.c[0-9]+$`;
  const config = testConfig({
    groups: [
      {
        name: 'infra',
        datasets: [{ name: 'big', selector: { class: `~${classRegex}` }, seriesPerBatch: PER_BATCH }],
      },
    ],
  });
  const rt = buildRuntime(config, { log: () => {} });
  const count = async (start: number, end: number) => {
    const [[series, points]] = await rt.runner.run<[[number, number]]>(COUNT_RANGE, {
      token: rt.tokens.read,
      class: `~${classRegex}`,
      labels: {},
      start,
      end,
    });
    return { series, points };
  };

  const seedStart = Date.now();
  const lines: string[] = [];
  for (let k = 0; k < SERIES; k++) {
    const gts = `${prefix}.c${Math.floor(k / PER_CLASS)}{s=${k % PER_CLASS}}`;
    const ts = S + k * 10_000_000;
    lines.push(`${ts}// ${gts} ${k}`);
    if (inMonth(k) === 2) lines.push(`${ts + 1_000_000}// ${gts} ${-k}`);
    if (after1(k)) lines.push(`${E + k}// ${gts} ${k}`);
    if (before1(k)) lines.push(`${S - 1 - k}// ${gts} ${k}`);
    if (lines.length >= UPDATE_LINES) await rt.client.update(rt.tokens.write, lines.splice(0).join('\n'));
  }
  if (lines.length > 0) await rt.client.update(rt.tokens.write, lines.join('\n'));
  const seedMs = Date.now() - seedStart;
  assert.ok(E - 1 > S + SERIES * 10_000_000, 'every seeded point of the month is inside it');
  assert.deepEqual(await count(S, E - 1), { series: SERIES, points: MONTH_POINTS });

  const ref = { group: 'infra', dataset: 'big', month: MONTH };
  const taskQueue = uniqueId('big');
  const workflowId = `${archiveWorkflowId(ref)}-${taskQueue}`;
  const worker = await createOffloadWorker({
    connection: env.nativeConnection,
    runtime: rt,
    taskQueue,
    workflowBundle: await workflowBundle(),
  });
  const archiveStart = Date.now();
  const result = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('archive', { taskQueue, workflowId, args: [ref] });
    const done = handle.result() as Promise<ArchiveResult>;
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => {});
    let last = 0;
    while (!finished) {
      if (Date.now() - last >= 15_000) {
        last = Date.now();
        const p = await env.client.workflow
          .getHandle(workflowId)
          .query(archiveProgress)
          .catch(() => undefined);
        if (p) t.diagnostic(`${seconds(Date.now() - archiveStart)}: ${JSON.stringify(p)}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    return done;
  });
  const archiveMs = Date.now() - archiveStart;

  assert.equal(result.status, 'archived');
  assert.equal(result.series, SERIES);
  assert.equal(result.points, MONTH_POINTS);
  // A large dataset goes by label-prefix partitions (here on `s`), each at most PARTITION_MAX_SERIES series.
  assert.ok(result.batches >= 2 && result.batches <= SERIES / PER_BATCH, `${result.batches} batches`);

  // Every run of the chain, each history bounded.
  const runs: { runId: string; events: number; status: string }[] = [];
  const times = new Map<string, { n: number; sumMs: number; maxMs: number }>();
  for await (const info of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await env.client.workflow.getHandle(workflowId, info.runId).fetchHistory();
    runs.push({ runId: info.runId, events: history.events?.length ?? 0, status: info.status.name });
    activityTimes(history.events ?? [], times);
  }
  assert.ok(runs.length >= 1);
  for (const r of runs) assert.ok(r.events < MAX_EVENTS, `run ${r.runId}: ${r.events} events`);
  assert.equal(runs.filter((r) => r.status === 'COMPLETED').length, 1);
  assert.equal(runs.filter((r) => r.status === 'CONTINUED_AS_NEW').length, runs.length - 1);

  const manifest = MonthManifestSchema.parse(JSON.parse(await rt.store.getText(monthManifestKey(ref))));
  assert.equal(manifest.series, SERIES);
  assert.equal(manifest.points, MONTH_POINTS);
  assert.equal(manifest.batches.length, result.batches);

  // Nothing of the month is left live; every point outside it is.
  assert.deepEqual(await count(S, E - 1), { series: 0, points: 0 });
  assert.deepEqual(await count(E, E + DAY), { series: OUTSIDE_AFTER, points: OUTSIDE_AFTER });
  assert.deepEqual(await count(S - DAY, S - 1), { series: OUTSIDE_BEFORE, points: OUTSIDE_BEFORE });

  console.log(
    `[archive-scale-200k] ${SERIES} series in ${CLASSES} classes, ${MONTH_POINTS} points in the month ` +
      `(+${OUTSIDE_AFTER + OUTSIDE_BEFORE} outside), ${result.batches} batches: ` +
      `seed ${seconds(seedMs)}, archive ${seconds(archiveMs)}, ${runs.length} run(s), ` +
      `events per run ${runs.map((r) => r.events).join(', ')}; activities: ` +
      [...times]
        .map(([name, x]) => `${name} ${x.n}× total ${seconds(x.sumMs)} max ${seconds(x.maxMs)}`)
        .join(', '),
  );
  await rt.close();
});
