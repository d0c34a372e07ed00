// Late data converges without an operator (real Temporal, real Warp 10): points written into a month
// while it is being archived, or after it was committed, end up archived (as supplements or batches of
// their own) and deleted; nothing is lost and nothing is archived twice.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { archiveWorkflowId, failureKey, monthManifestKey, type MonthRef } from '../../src/archive/layout.ts';
import { FailureFileSchema, MonthManifestSchema, type MonthManifest } from '../../src/archive/manifest.ts';
import { readJson } from '../../src/activities/store-json.ts';
import { createStoreActivities } from '../../src/activities/store.ts';
import { Warp10UnavailableError, WarpScriptError } from '../../src/warp10/client.ts';
import { httpRunner, type FeedingRunner, type Params } from '../../src/warp10/runner.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { dumpFull, restoreRuns } from '../support/restore-run.ts';
import { dumpClass, storedLines, unwrapLines } from '../support/points.ts';
import { auditMonth } from '../../src/archive/audit.ts';
import { testConfig } from '../support/config.ts';
import { toInputFormat, type SeedPoint, type SeedSeries } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle, type Warp10Stack } from '../support/stack.ts';
import { utcMonth } from '../support/month.ts';

const MONTH = '2026-10';
const { S, E } = utcMonth(MONTH);
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
  return byKey((await dumpClass(w, cls)).map(([sel, ticks]) => [sel, ticks]));
}

/** Every point in the month's archive: every batch object and supplement the month manifest lists. */
async function archived(rt: Runtime, w: Warp10Stack, ref: MonthRef) {
  const m = await readJson(rt.store, monthManifestKey(ref), MonthManifestSchema);
  assert.ok(m, 'the month is committed');
  const keys = m.batches.flatMap((b) => [b.key, ...(b.supplements ?? []).map((x) => x.key)]);
  const rows = await unwrapLines(w, await storedLines(rt.store, keys));
  return { manifest: m, points: byKey(rows.map(([sel, ticks]) => [sel, ticks])) };
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

/** Points and rewritten points of all the month's supplements. */
const supplementTotals = (m: MonthManifest) =>
  m.batches
    .flatMap((b) => b.supplements ?? [])
    .reduce((t, x) => ({ points: t.points + x.points, rewritten: t.rewritten + (x.rewritten ?? 0) }), {
      points: 0,
      rewritten: 0,
    });

/** [batch, points] of every supplement of the month. */
const supplements = (m: MonthManifest) =>
  m.batches.flatMap((b) => (b.supplements ?? []).map((x) => [b.batch, x.points]));

/** What a hook may do besides failing an attempt: write late points (not through the hooked runner). */
interface Late {
  cls: string;
  write: (series: SeedSeries[]) => Promise<void>;
}

type Hook = (script: string, count: number, params: Params, late: Late) => Promise<LostReply | void>;

/**
 * A fresh class seeded with `seed`, a runtime whose Warp 10 runner calls `hook` before each script (or
 * the plain runner without one), the points written so far, and the convergence check of the month.
 */
async function setup(t: TestContext, opts: { lateData?: unknown; hook?: Hook } = {}) {
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
    ...(opts.lateData ? { lateData: opts.lateData } : {}),
  });
  const ref: MonthRef = { group: 'infra', dataset: 'late', month: MONTH };
  const base = buildRuntime(config);
  const written: Written = new Map();
  const late: Late = { cls, write: (series) => write(base, written, series) };
  const { hook } = opts;
  const real = httpRunner(base.client);
  const rt = buildRuntime(config, {
    log: () => {},
    runner: hook ? hookedRunner(real, (script, n, params) => hook(script, n, params, late)) : real,
  });
  t.after(async () => {
    await rt.close();
    await base.close();
  });
  await write(rt, written, seed(cls));
  return { w, cls, ref, rt, written, converged: () => assertConverged(rt, w, cls, ref, written) };
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
    const s = await setup(t, {
      hook: async (script, n, params, late) => {
        // Right before batch 2's export: batch 1 is exported, its series get late points, and so does
        // a series of batch 2 (read afterwards, so simply exported) and a brand-new series.
        if (script === 'archive-read' && n === 1) {
          const second = hostsIn(params);
          const first = ['a', 'b', 'c', 'd'].filter((h) => !second.includes(h));
          await late.write([
            { cls: late.cls, labels: { host: first[0]! }, points: pts(S + 30 * 60_000_000, E - 2) },
            { cls: late.cls, labels: { host: second[0]! }, points: pts(S + 3 * H) },
            { cls: late.cls, labels: { host: 'new' }, points: pts(S + 5 * H) },
          ]);
        }
      },
    });
    if (!s) return;
    const [r] = await archiveRuns(env, s.rt, s.ref);
    assert.equal(r?.status, 'archived');
    const m = await s.converged();
    assert.equal(m.batches.length, 3, 'two planned batches and one for the new series');
    assert.deepEqual(supplements(m), [[1, 2]], 'batch 1 has one supplement, of 2 points');
  });

  test('late data: a point written between verify and delete — archived as a supplement, deleted, audited whole and restored, 0 lost', async (t) => {
    const s = await setup(t, {
      hook: async (script, n, params, late) => {
        if (script === 'archive-delete' && n === 0) {
          const host = hostsIn(params)[0]!;
          await late.write([{ cls: late.cls, labels: { host }, points: pts(S + 7) }]);
        }
      },
    });
    if (!s) return;
    const { rt, written } = s;
    const [r] = await archiveRuns(env, rt, s.ref);
    assert.equal(r?.status, 'archived');
    const m = await s.converged();
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
  });

  test('late data: a point written after a delete attempt whose reply was lost — archived, deleted, 0 lost', async (t) => {
    const s = await setup(t, {
      hook: async (script, n, params, late) => {
        if (script === 'archive-delete' && n === 0) {
          const host = hostsIn(params)[0]!;
          // This first attempt deletes batch 1 but its reply is lost; then a late point lands in one of
          // its series, so the retry finds that series holding a single, unarchived point.
          return {
            afterRequest: () => late.write([{ cls: late.cls, labels: { host }, points: pts(S + 9) }]),
          };
        }
      },
    });
    if (!s) return;
    const [r] = await archiveRuns(env, s.rt, s.ref);
    assert.equal(r?.status, 'archived');
    const m = await s.converged();
    assert.deepEqual(supplements(m), [[1, 1]]);
  });

  test('late data: a value rewritten at an archived tick between verify and delete (each value type, one with a location) — archived as a supplement, nothing of the month live, restored with the new value; the same value rewritten changes nothing', async (t) => {
    // Rewrites at S + H, the first time each series' batch reaches its guarded delete: a new value (or
    // the same value at a new location) for five series, the same value again for the others.
    const at = S + H;
    const newer: Record<string, Omit<SeedPoint, 'ts'>> = {
      a: { value: 300 },
      e: { value: 2.75 },
      f: { value: false },
      g: { value: 'y z' },
      h: { value: 7, lat: 48.5, lon: 2.5, elev: 100 },
    };
    const seeded: Record<string, SeedSeries['points'][number]> = {};
    const touched = new Set<string>();
    const s = await setup(t, {
      hook: async (script, _n, params, late) => {
        if (script !== 'archive-delete') return;
        for (const host of hostsIn(params)) {
          if (touched.has(host)) continue;
          touched.add(host);
          const p = newer[host] ?? seeded[host]!;
          await late.write([{ cls: late.cls, labels: { host }, points: [{ ...p, ts: at }] }]);
        }
      },
    });
    if (!s) return;
    const { rt, w, cls } = s;
    // Series of the other value types, one with locations; the seed's a-d are LONGs.
    const typed: SeedSeries[] = [
      { cls, labels: { host: 'e' }, points: pts(S, at, E - 1).map((p, i) => ({ ...p, value: i + 0.5 })) },
      { cls, labels: { host: 'f' }, points: pts(S, at, E - 1).map((p) => ({ ...p, value: true })) },
      { cls, labels: { host: 'g' }, points: pts(S, at, E - 1).map((p) => ({ ...p, value: 'x y' })) },
      {
        cls,
        labels: { host: 'h' },
        points: pts(S, at, E - 1).map((p) => ({ ...p, value: 7, lat: 48.5, lon: 2.25, elev: 100 })),
      },
    ];
    await write(rt, s.written, typed);
    for (const x of [...seed(cls), ...typed]) seeded[x.labels.host!] = x.points.find((p) => p.ts === at)!;
    const [r] = await archiveRuns(env, rt, s.ref);
    assert.equal(r?.status, 'archived');
    assert.equal(touched.size, 8, 'every series was rewritten once');
    assert.deepEqual(await dumpFull(w, cls, S, E - 1), [], 'nothing of the month is live');

    // One supplement point a changed series, counted as a rewrite; the month counts each tick once.
    const m = await readJson(rt.store, monthManifestKey(s.ref), MonthManifestSchema);
    assert.deepEqual(
      supplementTotals(m!),
      { points: 5, rewritten: 5 },
      'the five changed series, one rewritten point each',
    );
    assert.equal(m!.points, 4 * 4 + 4 * 3, 'every tick of the month once');
    const audit = await auditMonth(rt.store, s.ref);
    assert.deepEqual(audit.problems, []);

    // The restore writes the batch, then its supplements: the newest value of each tick wins.
    const [restored] = await restoreRuns(env, rt, [{ ...s.ref }]);
    assert.equal(restored?.status, 'fulfilled', String((restored as PromiseRejectedResult)?.reason));
    const back = await dumpFull(w, cls, S, E - 1);
    assert.equal(back.length, 8);
    for (const [sel, , ticks, values, , lats, lons, elevs] of back) {
      const host = /host=(\w+)/.exec(sel)![1]!;
      const i = ticks.indexOf(at);
      const want = newer[host] ?? seeded[host]!;
      assert.equal(ticks.length, host < 'e' ? 4 : 3, `${host}: every tick once`);
      assert.deepEqual(values[i], want.value, `${host}: the newest value at the rewritten tick`);
      if (host === 'h') {
        // Locations come back as Warp 10's HHCodes hold them (about 1e-7 degrees).
        const [lat, lon] = [lats[i] as number, lons[i] as number];
        assert.ok(
          Math.abs(lat - 48.5) < 1e-6 && Math.abs(lon - 2.5) < 1e-6,
          `its new location: ${lat}:${lon}`,
        );
        assert.equal(elevs[i], 100);
      }
    }
  });

  test('late data: points written after the month was committed — the next run archives them, revision 2, 0 lost', async (t) => {
    const s = await setup(t);
    if (!s) return;
    const { rt, written } = s;
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
    const m = await s.converged();
    assert.equal(m.revision, 2);
    assert.equal(m.batches.length, 3, 'the late series got a batch of their own');
  });

  test('late data: a value rewritten after the month was committed — the next run archives it as a supplement of its batch, counted once, restored with the new value; a resent value and a new tick too', async (t) => {
    const s = await setup(t);
    if (!s) return;
    const { rt, w, cls } = s;
    const [first] = await archiveRuns(env, rt, s.ref);
    assert.equal(first?.status, 'archived');
    const before = await readJson(rt.store, monthManifestKey(s.ref), MonthManifestSchema);
    // seed(): values 1.. at S - 1, S, S + H, S + 2H, E - 1, E: the value at S + H is 3, at S + 2H 4.
    await write(rt, s.written, [
      { cls, labels: { host: 'a' }, points: [{ ts: S + H, value: 300 }] },
      { cls, labels: { host: 'b' }, points: [{ ts: S + 2 * H, value: 4 }] },
      { cls, labels: { host: 'c' }, points: [{ ts: S + 11, value: 5 }] },
    ]);
    const [second, third] = await archiveRuns(env, rt, s.ref, 2);
    assert.equal(second?.status, 'archived');
    assert.equal(second?.points, 1, 'one new tick; the rewrite and the resend add no point');
    assert.equal(third?.status, 'skipped', 'nothing new: the third run has nothing to do');
    assert.deepEqual(await dumpFull(w, cls, S, E - 1), [], 'nothing of the month is live');
    const m = await readJson(rt.store, monthManifestKey(s.ref), MonthManifestSchema);
    assert.equal(m!.revision, 2);
    assert.equal(m!.batches.length, before!.batches.length, 'no batch of their own: their batches reopened');
    assert.equal(m!.points, before!.points + 1);
    assert.deepEqual(supplementTotals(m!), { points: 2, rewritten: 1 }, 'the rewrite and the new tick');
    assert.deepEqual((await auditMonth(rt.store, s.ref)).problems, []);

    const [restored] = await restoreRuns(env, rt, [{ ...s.ref }]);
    assert.equal(restored?.status, 'fulfilled', String((restored as PromiseRejectedResult)?.reason));
    const back = new Map((await dumpFull(w, cls, S, E - 1)).map((r) => [/host=(\w+)/.exec(r[0])![1]!, r]));
    const at = (host: string, ts: number) => {
      const r = back.get(host)!;
      return r[3][r[2].indexOf(ts)];
    };
    assert.equal(at('a', S + H), 300, 'the newest value');
    assert.equal(at('b', S + 2 * H), 4);
    assert.deepEqual(back.get('c')![2].length, 5, 'the new tick restored with the others');
    assert.deepEqual(back.get('a')![2].length, 4, 'a rewritten tick once');
  });

  test('late data: a month inside its lateness is refused, nothing written; --ignore-lateness archives it', async (t) => {
    // 2026-10 ended on 2026-11-01: a lateness of 400 days is still running.
    const s = await setup(t, { lateData: { lateness: '400 days' } });
    if (!s) return;
    const { rt } = s;
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
    await s.converged();
  });

  test('late data: failure.json of a month that later completes is marked resolved', async (t) => {
    let fail = true;
    const s = await setup(t, {
      hook: async (script) => {
        if (script === 'archive-delete' && fail) {
          throw new WarpScriptError('archive-delete.mc2', 1, 'refused (test)', 500);
        }
      },
    });
    if (!s) return;
    const { rt } = s;
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
    await s.converged();
  });
});
