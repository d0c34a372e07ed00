// Late data converges without an operator (real Temporal, real Warp 10): points written into a month
// while it is being archived, or after it was committed, end up archived (as supplements or batches of
// their own) and deleted; nothing is lost and nothing is archived twice.
import assert from 'node:assert/strict';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { archiveWorkflowId, failureKey, monthManifestKey, type MonthRef } from '../../src/archive/layout.ts';
import { FailureFileSchema, MonthManifestSchema, type MonthManifest } from '../../src/archive/manifest.ts';
import { readJson } from '../../src/activities/store-json.ts';
import { createStoreActivities } from '../../src/activities/store.ts';
import { monthRange } from '../../src/month.ts';
import { Warp10Client, Warp10UnavailableError, WarpScriptError } from '../../src/warp10/client.ts';
import { httpRunner, type FeedingRunner, type Params } from '../../src/warp10/runner.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { restoreRuns } from '../support/restore-run.ts';
import { auditMonth } from '../../src/archive/audit.ts';
import { testConfig } from '../support/config.ts';
import { toInputFormat, type SeedSeries } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle, type Warp10Stack } from '../support/stack.ts';

const DUMP = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'dump.mc2');
const UNWRAP = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'unwrap.mc2');
const MONTH = '2026-10';
const { startUs, endUs } = monthRange(MONTH, 'UTC');
const S = Number(startUs);
const E = Number(endUs);
const H = 3_600_000_000;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

type Written = Map<string, Set<number>>;

/** Writes points and remembers them (selector as Warp 10 prints it, without token labels -> ticks). */
async function write(rt: Runtime, written: Written, series: SeedSeries[]): Promise<void> {
  await rt.client.update(rt.tokens.write, toInputFormat(series));
  for (const s of series) {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const key = `${s.cls}{${labels}}`;
    const set = written.get(key) ?? new Set<number>();
    for (const p of s.points) set.add(p.ts);
    written.set(key, set);
  }
}

/** The host label of the series a script works on: `selectors` (reads) or `expected` (deletes). */
function hostsIn(params: Params): string[] {
  const sels = (params.selectors ??
    (params.expected as unknown[][] | undefined)?.map((e) => e[0]) ??
    []) as string[];
  return sels.map((sel) => /[{,]host=([^,}]*)/.exec(sel)?.[1] ?? '').map(decodeURIComponent);
}

const pts = (...ts: number[]) => ts.map((t, i) => ({ ts: t, value: i + 1 }));

/** Ticks by series (class{labels} without token labels), from selectors as TOSELECTOR prints them. */
function byKey(rows: [string, number[]][]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [sel, ticks] of rows) {
    const open = sel.indexOf('{');
    const cls = decodeURIComponent(sel.slice(0, open));
    const labels = sel
      .slice(open + 1, -1)
      .split(',')
      .filter((l) => l !== '' && !l.startsWith('.'))
      .map((l) => l.split('=').map(decodeURIComponent).join('='))
      .sort()
      .join(',');
    const key = `${cls}{${labels}}`;
    out.set(key, [...(out.get(key) ?? []), ...ticks]);
  }
  return out;
}

async function live(w: Warp10Stack, cls: string): Promise<Map<string, number[]>> {
  const c = new Warp10Client({ url: w.url });
  const [rows] = await httpRunner(c).run<[[string, number[]][]]>(DUMP, { token: w.readToken, class: cls });
  await c.close();
  return byKey(rows.map(([s, t]) => [s, t]));
}

/** Every point in the month's archive: every batch object and supplement the month manifest lists. */
async function archived(rt: Runtime, w: Warp10Stack, ref: MonthRef) {
  const m = await readJson(rt.store, monthManifestKey(ref), MonthManifestSchema);
  assert.ok(m, 'the month is committed');
  const keys = m.batches.flatMap((b) => [b.key, ...(b.supplements ?? []).map((x) => x.key)]);
  const lines: string[] = [];
  for (const key of keys) {
    const gunzip = createGunzip();
    Readable.from(await rt.store.get(key)).pipe(gunzip);
    let text = '';
    for await (const chunk of gunzip) text += chunk.toString();
    lines.push(...text.split('\n').filter((l) => l !== ''));
  }
  const c = new Warp10Client({ url: w.url });
  const [rows] = await httpRunner(c).run<[[string, number[]][]]>(UNWRAP, { wrapped: lines });
  await c.close();
  return { manifest: m, points: byKey(rows.map(([s, t]) => [s, t])) };
}

/**
 * The convergence check: inside the month, every point written is archived exactly once and none is
 * live any more; outside it, every point is live and none archived. The manifest counts them all.
 */
async function assertConverged(rt: Runtime, w: Warp10Stack, cls: string, ref: MonthRef, written: Written) {
  const { manifest, points } = await archived(rt, w, ref);
  const now = await live(w, cls);
  let total = 0;
  for (const [key, ticks] of written) {
    const inMonth = [...ticks].filter((t) => t >= S && t < E).sort((a, b) => a - b);
    const outside = [...ticks].filter((t) => t < S || t >= E).sort((a, b) => a - b);
    const arch = [...(points.get(key) ?? [])].sort((a, b) => a - b);
    assert.deepEqual(arch, inMonth, `${key}: archived exactly once, every point of the month`);
    assert.deepEqual(
      [...(now.get(key) ?? [])].sort((a, b) => a - b),
      outside,
      `${key}: live outside the month only`,
    );
    total += inMonth.length;
  }
  assert.equal(manifest.points, total, 'the month manifest counts every point archived');
  return manifest;
}

/** A request whose reply is lost; `afterRequest` runs once Warp 10 has done it. */
interface LostReply {
  afterRequest: () => Promise<void>;
}

/**
 * The real runner, with a hook called before a script runs (count = how many times that script ran
 * before). The hook may write late points, or throw to fail that attempt.
 */
function hookedRunner(
  real: FeedingRunner,
  hook: (script: string, count: number, params: Params) => Promise<LostReply | void>,
): FeedingRunner {
  const seen = new Map<string, number>();
  const before = async (script: string, params: Params) => {
    const n = seen.get(script) ?? 0;
    seen.set(script, n + 1);
    return hook(script, n, params);
  };
  return {
    async run<T>(script: string, params: Params, signal?: AbortSignal): Promise<T> {
      const what = await before(script, params);
      const out = await real.run<T>(script, params, signal);
      if (what) {
        // The request was done, but its reply never reaches the activity (a connection cut after it).
        await what.afterRequest();
        throw new Warp10UnavailableError('reply lost (test)', 'http');
      }
      return out;
    },
    async stream(script, params, signal) {
      await before(script, params);
      return real.stream(script, params, signal);
    },
    runFed: (script, params, feed, signal) => real.runFed(script, params, feed, signal),
  };
}

/** [batch, points] of every supplement of the month. */
const supplements = (m: MonthManifest) =>
  m.batches.flatMap((b) => (b.supplements ?? []).map((x) => [b.batch, x.points]));

function setup(t: Parameters<typeof warp10OrSkip>[0], lateData?: unknown) {
  const w = warp10OrSkip(t);
  if (!w) return undefined;
  const cls = uniqueId('test.late').replace(/-/g, '.');
  const config = testConfig({
    groups: [
      {
        name: 'infra',
        datasets: [{ name: 'late', selector: { class: cls }, seriesPerBatch: 2, batchConcurrency: 1 }],
      },
    ],
    ...(lateData ? { lateData } : {}),
  });
  const ref: MonthRef = { group: 'infra', dataset: 'late', month: MONTH };
  const base = buildRuntime(config);
  return { w, cls, config, ref, base, real: httpRunner(base.client) };
}

/** Four series in two batches, with points on both sides of the month. */
function seed(cls: string): SeedSeries[] {
  return ['a', 'b', 'c', 'd'].map((host) => ({
    cls,
    labels: { host },
    points: pts(S - 1, S, S + H, S + 2 * H, E - 1, E),
  }));
}

describe('late data (real Temporal, real Warp 10)', () => {
  test('late data: points written into a series during its export — archived as a supplement, the run completes, 0 lost, 0 duplicates', async (t) => {
    const s = setup(t);
    if (!s) return;
    const written: Written = new Map();
    const rt = buildRuntime(s.config, {
      log: () => {},
      runner: hookedRunner(s.real, async (script, n, params) => {
        // Right before batch 2's export: batch 1 is exported, its series get late points, and so does
        // a series of batch 2 (read afterwards, so simply exported) and a brand-new series.
        if (script === 'archive-read' && n === 1) {
          const second = hostsIn(params);
          const first = ['a', 'b', 'c', 'd'].filter((h) => !second.includes(h));
          await write(s.base, written, [
            { cls: s.cls, labels: { host: first[0]! }, points: pts(S + 30 * 60_000_000, E - 2) },
            { cls: s.cls, labels: { host: second[0]! }, points: pts(S + 3 * H) },
            { cls: s.cls, labels: { host: 'new' }, points: pts(S + 5 * H) },
          ]);
        }
      }),
    });
    await write(rt, written, seed(s.cls));
    const [r] = await archiveRuns(env, rt, s.ref);
    assert.equal(r?.status, 'archived');
    const m = await assertConverged(rt, s.w, s.cls, s.ref, written);
    assert.equal(m.batches.length, 3, 'two planned batches and one for the new series');
    assert.deepEqual(supplements(m), [[1, 2]], 'batch 1 has one supplement, of 2 points');
    await rt.close();
    await s.base.close();
  });

  test('late data: a point written between verify and delete — archived as a supplement, deleted, audited whole and restored, 0 lost', async (t) => {
    const s = setup(t);
    if (!s) return;
    const written: Written = new Map();
    const rt = buildRuntime(s.config, {
      log: () => {},
      runner: hookedRunner(s.real, async (script, n, params) => {
        if (script === 'archive-delete' && n === 0) {
          const host = hostsIn(params)[0]!;
          await write(s.base, written, [{ cls: s.cls, labels: { host }, points: pts(S + 7) }]);
        }
      }),
    });
    await write(rt, written, seed(s.cls));
    const [r] = await archiveRuns(env, rt, s.ref);
    assert.equal(r?.status, 'archived');
    const m = await assertConverged(rt, s.w, s.cls, s.ref, written);
    assert.equal(m.batches.length, 2);
    assert.deepEqual(supplements(m), [[1, 1]]);

    // The supplement is part of the archive: the audit finds the month whole, and a restore brings
    // back every point of the month once, the late one included.
    const audit = await auditMonth(rt.store, s.ref);
    assert.deepEqual(audit.problems, []);
    assert.equal(audit.ok, true);
    const [restored] = await restoreRuns(env, rt, [{ ...s.ref }]);
    assert.equal(restored?.status, 'fulfilled', String((restored as PromiseRejectedResult)?.reason));
    const back = await live(s.w, s.cls);
    for (const [key, ticks] of written) {
      assert.deepEqual(
        [...(back.get(key) ?? [])].sort((a, b) => a - b),
        [...ticks].sort((a, b) => a - b),
        `${key}: every point back, once`,
      );
    }
    await rt.close();
    await s.base.close();
  });

  test('late data: a point written after a delete attempt whose reply was lost — archived, deleted, 0 lost', async (t) => {
    const s = setup(t);
    if (!s) return;
    const written: Written = new Map();
    const rt = buildRuntime(s.config, {
      log: () => {},
      runner: hookedRunner(s.real, async (script, n, params) => {
        if (script === 'archive-delete' && n === 0) {
          const host = hostsIn(params)[0]!;
          // This first attempt deletes batch 1 but its reply is lost; then a late point lands in one of
          // its series, so the retry finds that series holding a single, unarchived point.
          return {
            afterRequest: () =>
              write(s.base, written, [{ cls: s.cls, labels: { host }, points: pts(S + 9) }]),
          };
        }
      }),
    });
    await write(rt, written, seed(s.cls));
    const [r] = await archiveRuns(env, rt, s.ref);
    assert.equal(r?.status, 'archived');
    const m = await assertConverged(rt, s.w, s.cls, s.ref, written);
    assert.deepEqual(supplements(m), [[1, 1]]);
    await rt.close();
    await s.base.close();
  });

  test('late data: points written after the month was committed — the next run archives them, revision 2, 0 lost', async (t) => {
    const s = setup(t);
    if (!s) return;
    const written: Written = new Map();
    const rt = buildRuntime(s.config, { log: () => {}, runner: s.real });
    await write(rt, written, seed(s.cls));
    const [first] = await archiveRuns(env, rt, s.ref);
    assert.equal(first?.status, 'archived');
    await write(rt, written, [
      { cls: s.cls, labels: { host: 'a' }, points: pts(S + 11) },
      { cls: s.cls, labels: { host: 'late' }, points: pts(S + 12, S + 13) },
    ]);
    const [second, third] = await archiveRuns(env, rt, s.ref, 2);
    assert.equal(second?.status, 'archived');
    assert.equal(second?.points, 3, 'the rerun reports the late points it archived');
    assert.equal(third?.status, 'skipped', 'nothing new: the third run has nothing to do');
    const m = await assertConverged(rt, s.w, s.cls, s.ref, written);
    assert.equal(m.revision, 2);
    assert.equal(m.batches.length, 3, 'the late series got a batch of their own');
    await rt.close();
    await s.base.close();
  });

  test('late data: a month inside its lateness is refused, nothing written; --ignore-lateness archives it', async (t) => {
    // 2026-10 ended on 2026-11-01: a lateness of 400 days is still running.
    const s = setup(t, { lateness: '400 days' });
    if (!s) return;
    const written: Written = new Map();
    const rt = buildRuntime(s.config, { log: () => {}, runner: s.real });
    await write(rt, written, seed(s.cls));
    const taskQueue = uniqueId('late-early');
    const workflowId = `${archiveWorkflowId(s.ref)}-${taskQueue}`;
    const worker = await createOffloadWorker({
      connection: env.nativeConnection,
      runtime: rt,
      taskQueue,
      workflowBundle: await workflowBundle(),
    });
    const err = await worker.runUntil(
      env.client.workflow
        .execute('archive', { taskQueue, workflowId, args: [s.ref] })
        .catch((e: unknown) => e),
    );
    assert.ok(err instanceof WorkflowFailedError);
    const cause = (err.cause as { cause?: { type?: string; message?: string } }).cause;
    assert.equal(cause?.type, 'TooEarly');
    assert.match(cause?.message ?? '', /lateData\.lateness: 400 days/);
    assert.match(cause?.message ?? '', /--ignore-lateness/);
    assert.deepEqual(await rt.store.list(`${s.ref.group}/${s.ref.dataset}/${MONTH}/`), []);
    // Nor later: a refusal starts no compensating workflow (which would write failure.json and alert).
    const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    assert.deepEqual(
      events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes),
      [],
      'no failure workflow started',
    );
    const [r] = await archiveRuns(env, rt, { ...s.ref, ignoreLateness: true } as MonthRef);
    assert.equal(r?.status, 'archived');
    await assertConverged(rt, s.w, s.cls, s.ref, written);
    await rt.close();
    await s.base.close();
  });

  test('late data: failure.json of a month that later completes is marked resolved', async (t) => {
    const s = setup(t);
    if (!s) return;
    const written: Written = new Map();
    let fail = true;
    const rt = buildRuntime(s.config, {
      log: () => {},
      runner: hookedRunner(s.real, async (script) => {
        if (script === 'archive-delete' && fail) {
          throw new WarpScriptError('archive-delete.mc2', 1, 'refused (test)', 500);
        }
      }),
    });
    await write(rt, written, seed(s.cls));
    await assert.rejects(archiveRuns(env, rt, s.ref));
    // What the failure workflow does for that run (its compensation writes failure.json).
    await createStoreActivities({ store: rt.store }).compensateFailure({
      ...s.ref,
      phase: 'delete',
      batch: 1,
      error: { type: 'WarpScriptError', message: 'refused (test)' },
      workflowId: 'archive/test',
      runId: 'run-1',
    });
    const key = failureKey(s.ref);
    const failure = await readJson(rt.store, key, FailureFileSchema);
    assert.ok(failure, 'the compensation recorded the failure');
    assert.equal(failure.resolvedAt, undefined);
    fail = false;
    const [r] = await archiveRuns(env, rt, s.ref);
    assert.equal(r?.status, 'archived');
    const resolved = await readJson(rt.store, key, FailureFileSchema);
    assert.ok(resolved?.resolvedAt, 'resolvedAt is set');
    assert.match(resolved?.resolvedBy?.workflowId ?? '', /^archive\//);
    await assertConverged(rt, s.w, s.cls, s.ref, written);
    await rt.close();
    await s.base.close();
  });
});
