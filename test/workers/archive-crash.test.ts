// The archive survives its worker: a worker process (npm run worker) SIGKILLed in each phase of a month
// (plan, export, verify, delete), then a new one started, finishes the month with every point archived
// exactly once; and two worker processes given two starts of the same month archive it once. Real
// Temporal, real Warp 10 (behind a proxy that slows each request so a phase lasts), real local store.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { archiveWorkflowId, type MonthRef } from '../../src/archive/layout.ts';
import { freePort } from '../../src/metrics/server.ts';
import { isAlive, readPid } from '../../scripts/stack/common.ts';
import { startStandalone, type StandaloneInstance } from '../../scripts/stack/warp10.ts';
import { readPlanHead } from '../../src/activities/plan-store.ts';
import { buildStore } from '../../src/worker/runtime.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import type { ArchiveResult } from '../../src/workflows/archive.ts';
import { batchStatuses, sleep, startDedicatedTemporal, until, type BatchStatuses } from '../support/crash.ts';
import { tempDir, writeConfigFile } from '../support/config.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { assertExactlyOnce, pointLedger, seedSeries, tickIn } from '../support/ledger.ts';
import { toInputFormat } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip, type Warp10Stack } from '../support/stack.ts';
import { exited, startWorkerProcess, waitForOutput, type WorkerProcess } from '../support/worker-process.ts';
import { utcMonth } from '../support/month.ts';

const MONTH = '2026-04';
const { S, E } = utcMonth(MONTH);
const SERIES = 16;
const POINTS = 30;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

/**
 * A dataset of SERIES series (one per batch) of POINTS points in the month plus one point on each side
 * of it, a worker config reaching Warp 10 through a slowing proxy, and the means to run worker processes.
 */
async function setup(
  t: TestContext,
  w: Warp10Stack,
  name: string,
  opts: {
    temporalAddress?: string;
    unwrapIn?: Warp10Stack;
    series?: number;
    points?: number;
    pointsPerBatch?: number;
  } = {},
) {
  const cls = uniqueId(`test.${name}`).replace(/-/g, '.');
  const taskQueue = uniqueId(name);
  const proxy = new FaultProxy(w.url);
  await proxy.start();
  const { file, config } = writeConfigFile({
    warp10Url: proxy.url,
    taskQueue,
    dataset: name,
    cls,
    seriesPerBatch: 1,
    ...(opts.pointsPerBatch ? { pointsPerBatch: opts.pointsPerBatch } : {}),
  });
  const seed = seedSeries(cls, opts.series ?? SERIES, opts.points ?? POINTS, S, 3_600_000_000);
  seed[0]?.points.push({ ts: S - 1, value: -1 }, { ts: E, value: -2 });
  const c = new Warp10Client({ url: w.url });
  await c.update(w.writeToken, toInputFormat(seed));
  await c.close();
  const workers: WorkerProcess[] = [];
  t.after(async () => {
    for (const x of workers) {
      if (x.exitCode === null && x.signalCode === null) x.kill('SIGKILL');
      await exited(x);
    }
    await proxy.stop();
  });
  const store = buildStore(config);
  const storeDir = config.store.type === 'local' ? config.store.path : '';
  const ref: MonthRef = { group: 'infra', dataset: name, month: MONTH };
  return {
    cls,
    taskQueue,
    proxy,
    ref,
    workflowId: `${archiveWorkflowId(ref)}-${taskQueue}`,
    ...pointLedger({ seed, store, ref, cls, w, unwrapIn: opts.unwrapIn }),
    status: () => batchStatuses(storeDir, ref),
    /** Batches of the frozen plan (0 before there is one). */
    planned: async () => (await readPlanHead(store, ref))?.batchCount ?? 0,
    async worker() {
      // WARP10_URL in the environment wins over the file: point it at the proxy too.
      const x = startWorkerProcess(file, w, {
        WARP10_URL: proxy.url,
        ...(opts.temporalAddress ? { TEMPORAL_ADDRESS: opts.temporalAddress } : {}),
      });
      workers.push(x);
      await waitForOutput(x, /worker on task queue/);
      return x;
    },
  };
}

const kill = async (x: WorkerProcess) => {
  x.kill('SIGKILL');
  assert.equal((await exited(x)).signal, 'SIGKILL');
};

interface PhaseCase {
  phase: 'plan' | 'export' | 'verify' | 'delete';
  /** Kill when the store shows this (checked every 20 ms). */
  killWhen: (s: BatchStatuses, requests: number) => boolean;
  /** What the store must show after the kill: the worker died in that phase. */
  midPhase: (s: BatchStatuses) => boolean;
  delayMs: number;
}

const PHASES: PhaseCase[] = [
  {
    phase: 'plan',
    // The plan's first request to Warp 10 is held by the proxy: the worker is inside planMonth.
    killWhen: (_s, requests) => requests >= 1,
    midPhase: (s) => s.exported === 0,
    delayMs: 2_000,
  },
  {
    phase: 'export',
    killWhen: (s) => s.exported >= 2,
    midPhase: (s) => s.exported < SERIES && s.verified === 0,
    delayMs: 300,
  },
  {
    phase: 'verify',
    killWhen: (s) => s.verified >= 1,
    midPhase: (s) => s.exported === SERIES && s.verified < SERIES && s.deleted === 0,
    delayMs: 0,
  },
  {
    phase: 'delete',
    killWhen: (s) => s.deleted >= 1,
    midPhase: (s) => s.verified === SERIES && s.deleted < SERIES,
    delayMs: 300,
  },
];

describe('the archive and its worker processes', () => {
  for (const c of PHASES) {
    test(`fault: worker SIGKILLed during ${c.phase} — a new worker finishes the month, 0 points lost`, async (t) => {
      const w = warp10OrSkip(t);
      if (!w) return;
      const x = await setup(t, w, `crash-${c.phase}`);
      const first = await x.worker();
      x.proxy.delayMs = c.delayMs;
      x.proxy.requests = 0;
      const handle = await env.client.workflow.start('archive', {
        taskQueue: x.taskQueue,
        workflowId: x.workflowId,
        args: [x.ref],
      });
      await until(`${c.phase} under way`, async () => c.killWhen(await x.status(), x.proxy.requests));
      await kill(first);
      const state = await x.status();
      assert.ok(c.midPhase(state), `killed during ${c.phase}: ${JSON.stringify(state)}`);
      x.proxy.delayMs = 0;

      await x.worker();
      const result = (await handle.result()) as ArchiveResult;
      assert.deepEqual([result.status, result.batches, result.points], ['archived', SERIES, SERIES * POINTS]);
      assertExactlyOnce(x.written, await x.ledger(), tickIn(S, E));
    });
  }

  // The same kills on a dataset large enough to be partitioned (src/warp10/partitions.ts): 12,000
  // series of 2 points, batches of about 4,000 points (2,000 series), each exported and deleted through
  // one selector, pipelined: a batch is deleted while the next ones export.
  const BIG = 12_000;
  const BIG_POINTS = 2;
  for (const phase of ['export', 'delete'] as const) {
    test(`fault: worker SIGKILLed during ${phase} of a partitioned dataset (12,000 series) — a new worker finishes the month, 0 points lost`, async (t) => {
      const w = warp10OrSkip(t);
      if (!w) return;
      const x = await setup(t, w, `crash-big-${phase}`, {
        series: BIG,
        points: BIG_POINTS,
        pointsPerBatch: 2_000 * BIG_POINTS,
      });
      const first = await x.worker();
      x.proxy.delayMs = 400;
      const handle = await env.client.workflow.start('archive', {
        taskQueue: x.taskQueue,
        workflowId: x.workflowId,
        args: [x.ref],
      });
      await until(`${phase} under way`, async () => {
        const s = await x.status();
        return phase === 'export' ? s.exported >= 2 : s.deleted >= 1;
      });
      await kill(first);
      const [state, planned] = [await x.status(), await x.planned()];
      assert.ok(planned >= 4, `${planned} batches planned`);
      // Pipelined (a partitioned plan): a batch is deleted while the next ones export.
      const mid =
        phase === 'export'
          ? state.exported >= 2 && state.exported < planned
          : state.deleted >= 1 && state.deleted < planned;
      assert.ok(mid, `killed during ${phase}: ${JSON.stringify(state)} of ${planned} batches`);
      x.proxy.delayMs = 0;

      await x.worker();
      const result = (await handle.result()) as ArchiveResult;
      assert.deepEqual(
        [result.status, result.batches, result.points],
        ['archived', planned, BIG * BIG_POINTS],
      );
      assertExactlyOnce(x.written, await x.ledger(), tickIn(S, E));
    });
  }

  test('fault: two workers racing on the same dataset-month — one workflow runs, every point archived exactly once', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const x = await setup(t, w, 'race');
    await Promise.all([x.worker(), x.worker()]);
    x.proxy.delayMs = 100;
    const start = () =>
      env.client.workflow.start('archive', {
        taskQueue: x.taskQueue,
        workflowId: x.workflowId,
        args: [x.ref],
      });
    const starts = await Promise.allSettled([start(), start()]);
    const started = starts.filter((s) => s.status === 'fulfilled');
    const refused = starts.filter((s) => s.status === 'rejected');
    assert.equal(started.length, 1, 'one start wins');
    assert.ok(refused[0]?.reason instanceof WorkflowExecutionAlreadyStartedError, String(refused[0]?.reason));
    const handle = (started[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof start>>>).value;
    const result = (await handle.result()) as ArchiveResult;
    assert.deepEqual([result.status, result.points], ['archived', SERIES * POINTS]);
    // Started again once archived: the month is found done, nothing is redone.
    const again = (await env.client.workflow.execute('archive', {
      taskQueue: x.taskQueue,
      workflowId: `${x.workflowId}-again`,
      args: [x.ref],
    })) as ArchiveResult;
    assert.equal(again.status, 'skipped');
    const runs: string[] = [];
    for await (const r of env.client.workflow.list({ query: `WorkflowId = '${x.workflowId}'` }))
      runs.push(r.runId);
    assert.equal(runs.length, 1, 'one run of the month');
    assertExactlyOnce(x.written, await x.ledger(), tickIn(S, E));
  });
});

// The servers the worker depends on, SIGKILLed and restarted mid-phase: a Temporal dev server and a Warp 10
// standalone of this test's own (never the shared stack's), each restarted on the same port and data.
describe('the archive when Temporal or Warp 10 crashes', () => {
  const midPhase = {
    export: {
      killWhen: (s: BatchStatuses) => s.exported >= 2,
      check: (s: BatchStatuses) => s.exported < SERIES && s.verified === 0,
    },
    delete: {
      killWhen: (s: BatchStatuses) => s.deleted >= 1,
      check: (s: BatchStatuses) => s.verified === SERIES && s.deleted < SERIES,
    },
  };

  for (const phase of ['export', 'delete'] as const) {
    test(`fault: Temporal dev server SIGKILLed and restarted during ${phase} — the month completes, 0 points lost`, async (t) => {
      const w = warp10OrSkip(t);
      if (!w) return;
      const dir = tempDir('faults-temporal');
      const temporal = await startDedicatedTemporal(path.join(dir, 'temporal.db'));
      t.after(async () => {
        await temporal.stop();
        await rm(dir, { recursive: true, force: true });
      });
      const x = await setup(t, w, `tcrash-${phase}`, { temporalAddress: temporal.address });
      await x.worker();
      x.proxy.delayMs = 300;
      const connect = async () => {
        const connection = await Connection.connect({ address: temporal.address });
        t.after(() => connection.close());
        return new Client({ connection });
      };
      await (
        await connect()
      ).workflow.start('archive', { taskQueue: x.taskQueue, workflowId: x.workflowId, args: [x.ref] });
      await until(`${phase} under way`, async () => midPhase[phase].killWhen(await x.status()));
      await temporal.kill();
      await sleep(1_000);
      const state = await x.status();
      assert.ok(midPhase[phase].check(state), `killed during ${phase}: ${JSON.stringify(state)}`);
      x.proxy.delayMs = 0;
      await temporal.restart(); // same port, same SQLite file; the worker reconnects by itself
      const result = (await (await connect()).workflow.getHandle(x.workflowId).result()) as ArchiveResult;
      assert.deepEqual([result.status, result.batches, result.points], ['archived', SERIES, SERIES * POINTS]);
      assertExactlyOnce(x.written, await x.ledger(), tickIn(S, E));
    });
  }

  let warp10: StandaloneInstance | undefined;
  let restart: (() => Promise<StandaloneInstance>) | undefined;
  const name = `warp10-faults-${process.pid}`;
  const dataDir = tempDir('faults-warp10');
  after(async () => {
    await warp10?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  for (const phase of ['export', 'delete'] as const) {
    test(`fault: Warp 10 SIGKILLed and restarted during ${phase} — retried until it is back, the month completes, 0 points lost`, async (t) => {
      const shared = warp10OrSkip(t);
      if (!shared) return;
      if (!warp10) {
        const opts = { name, dataDir, port: await freePort() };
        restart = () => startStandalone(opts);
        warp10 = await restart();
      }
      const x = await setup(t, warp10, `wcrash-${phase}`, { unwrapIn: shared });
      await x.worker();
      x.proxy.delayMs = 300;
      const handle = await env.client.workflow.start('archive', {
        taskQueue: x.taskQueue,
        workflowId: x.workflowId,
        args: [x.ref],
      });
      await until(`${phase} under way`, async () => midPhase[phase].killWhen(await x.status()));
      const pid = readPid(name);
      assert.ok(pid, 'the dedicated Warp 10 runs');
      process.kill(pid, 'SIGKILL');
      await until('Warp 10 dead', () => !isAlive(pid));
      await sleep(1_000);
      const state = await x.status();
      assert.ok(midPhase[phase].check(state), `killed during ${phase}: ${JSON.stringify(state)}`);
      x.proxy.delayMs = 0;
      warp10 = await restart!(); // same port, same data folder
      const result = (await handle.result()) as ArchiveResult;
      assert.deepEqual([result.status, result.batches, result.points], ['archived', SERIES, SERIES * POINTS]);
      assertExactlyOnce(x.written, await x.ledger(), tickIn(S, E));
    });
  }
});
