// Small datasets archived in pages (src/activities/page.ts), on the real stack: a group mixing tiny
// datasets, one of several batches, one whose export fails and one whose archive workflow is already
// running. The tiny ones are archived by the group's page activities, without workflows of their own;
// the others by their archive workflows (the failing one with its failure workflow). A worker SIGKILLed
// in the middle of a page: a new worker finishes it. Every row checks every point (ledger.ts).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { monthManifestKey, monthPrefix } from '../../src/archive/layout.ts';
import { MonthManifestSchema } from '../../src/archive/manifest.ts';
import { readJson } from '../../src/activities/store-json.ts';
import { startMonthly } from '../../src/client/monthly.ts';
import { monthRange } from '../../src/month.ts';
import { datasetWorkflowId, groupWorkflowId } from '../../src/offload/ids.ts';
import type { ArchiveStore } from '../../src/store/types.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { buildRuntime, buildStore } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import type { GroupResult } from '../../src/workflows/group.ts';
import type { MonthlyResult } from '../../src/workflows/monthly.ts';
import { until } from '../support/crash.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { archivedKeys, assertExactlyOnce, liveKeys, tickIn, writtenKeys } from '../support/ledger.ts';
import { testConfig, writeConfigFile } from '../support/config.ts';
import { toInputFormat, type SeedSeries } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle, type Warp10Stack } from '../support/stack.ts';
import { exited, startWorkerProcess, waitForOutput } from '../support/worker-process.ts';

const MONTH = '2025-03';
const S = Number(monthRange(MONTH, 'UTC').startUs);
const E = Number(monthRange(MONTH, 'UTC').endUs);
const BROKEN = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'broken-export.mc2');

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

/** `n` series of class `cls`: 3 points in the month, one before it and one after it (which stay). */
function seed(cls: string, n: number): SeedSeries[] {
  return Array.from({ length: n }, (_, i) => ({
    cls,
    labels: { host: `h${i}` },
    points: [S - 1, S, S + 60_000_000, E - 1, E].map((ts, p) => ({ ts, value: p + i })),
  }));
}

async function write(w: Warp10Stack, series: SeedSeries[]): Promise<void> {
  const c = new Warp10Client({ url: w.url });
  await c.update(w.writeToken, toInputFormat(series));
  await c.close();
}

async function exists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

async function ledger(store: ArchiveStore, w: Warp10Stack, group: string, dataset: string, cls: string) {
  return {
    archived: await archivedKeys(store, monthPrefix({ group, dataset, month: MONTH }), w),
    live: await liveKeys(w, cls),
  };
}

describe('small datasets archived in pages (real Temporal, real Warp 10)', () => {
  test('a group of tiny datasets, one of 3 batches, one failing, one already running: the tiny ones archived in pages without workflows of their own, the others by theirs; 0 points lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const group = uniqueId('pages');
    const p = group.replace(/-/g, '.');
    const tiny = Array.from({ length: 9 }, (_, i) => ({ name: `tiny${i}`, cls: `${p}.tiny${i}`, n: 2 }));
    const sets = [
      ...tiny,
      { name: 'big', cls: `${p}.big`, n: 3 },
      { name: 'broken', cls: `${p}.broken`, n: 2 },
      { name: 'busy', cls: `${p}.busy`, n: 2 },
    ];
    const seeds = new Map(sets.map((d) => [d.name, seed(d.cls, d.n)]));
    await write(w, [...seeds.values()].flat());
    const taskQueue = uniqueId('pages');
    const config = testConfig({
      warp10Url: w.url,
      groups: [
        {
          name: group,
          mode: 'parallel',
          concurrency: 3,
          datasets: sets.map((d) => ({
            name: d.name,
            selector: { class: d.cls },
            // `big` is planned as 3 batches of 1 series: more than a page takes.
            seriesPerBatch: d.name === 'big' ? 1 : 10,
            ...(d.name === 'broken' ? { templates: { export: BROKEN } } : {}),
          })),
        },
      ],
    });
    config.temporal = { ...config.temporal, taskQueue };
    const rt = buildRuntime(config);
    const worker = await createOffloadWorker({
      connection: env.nativeConnection,
      runtime: rt,
      workflowBundle: await workflowBundle(),
    });
    const groupId = groupWorkflowId(MONTH, group);
    const id = (dataset: string) => datasetWorkflowId({ group, dataset, month: MONTH });

    const result = await worker.runUntil(async () => {
      // `busy`'s archive workflow is running when the group reaches it (its worker comes later): the
      // page leaves it alone and the group waits for that run.
      const busyQueue = `${taskQueue}-busy`;
      const busy = await env.client.workflow.start('archive', {
        taskQueue: busyQueue,
        workflowId: id('busy'),
        args: [{ group, dataset: 'busy', month: MONTH }],
      });
      const run = await env.client.workflow.start('groupOffload', {
        taskQueue,
        workflowId: groupId,
        args: [{ month: MONTH, group: { name: group, mode: 'parallel', concurrency: 3 } }],
      });
      await until('the group waits for busy', async () =>
        ((await run.fetchHistory()).events ?? []).some(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'awaitWorkflow',
        ),
      );
      const busyWorker = await createOffloadWorker({
        connection: env.nativeConnection,
        runtime: rt,
        taskQueue: busyQueue,
        workflowBundle: await workflowBundle(),
      });
      await busyWorker.runUntil(busy.result());
      return (await run.result()) as GroupResult;
    });

    const by = new Map(result.datasets.map((d) => [d.dataset, d]));
    assert.deepEqual(
      [result.total, result.archived, result.failed, result.skipped],
      [12, 11, 1, 0],
      JSON.stringify(result.datasets),
    );
    for (const d of tiny) {
      const o = by.get(d.name);
      assert.equal(o?.status, 'archived', JSON.stringify(o));
      assert.equal(o?.workflowId, groupId, `${d.name} was archived by the group run`);
      assert.equal(await exists(env.client, id(d.name)), false, `${d.name} has no archive workflow`);
      const m = await readJson(
        rt.store,
        monthManifestKey({ group, dataset: d.name, month: MONTH }),
        MonthManifestSchema,
      );
      assert.equal(m?.workflowId, groupId, `${d.name}'s manifest names the group run`);
      assert.equal(m?.points, d.n * 3);
    }
    for (const name of ['big', 'busy']) {
      assert.equal(by.get(name)?.status, 'archived', JSON.stringify(by.get(name)));
      assert.equal(by.get(name)?.workflowId, id(name), `${name} ran as its own archive workflow`);
    }
    const broken = by.get('broken');
    assert.equal(broken?.status, 'failed');
    assert.equal(broken?.workflowId, id('broken'));
    assert.match(broken?.reason ?? '', /WarpScriptError/);
    assert.ok(broken?.failureWorkflowId, 'its failure workflow was started');
    assert.equal(await exists(env.client, broken.failureWorkflowId), true);

    // The group's history: pages, not one child per dataset.
    const events = (await env.client.workflow.getHandle(groupId).fetchHistory()).events ?? [];
    const pages = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'archivePage',
    );
    const children = events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
    assert.ok(pages.length >= 3, `${pages.length} pages`);
    assert.deepEqual(
      children.map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId).sort(),
      [id('big'), id('broken'), id('busy')].sort(),
    );

    // Every point: archived once or still live; the archive holds exactly the month of each archived one.
    for (const d of sets) {
      const written = writtenKeys(seeds.get(d.name)!);
      const state = await ledger(rt.store, w, group, d.name, d.cls);
      if (d.name === 'broken') {
        assert.deepEqual(state.archived, [], 'nothing of the failed dataset archived');
        assert.deepEqual(
          state.live.sort(),
          [...written].sort(),
          'every point of the failed dataset still live',
        );
      } else assertExactlyOnce(written, state, tickIn(S, E));
    }
    await rt.close();
  });

  test('fault: worker SIGKILLed in the middle of a page — a new worker finishes it, every dataset archived exactly once, 0 points lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const group = uniqueId('pagecrash');
    const p = group.replace(/-/g, '.');
    const sets = Array.from({ length: 6 }, (_, i) => ({ name: `ds${i}`, cls: `${p}.ds${i}` }));
    const seeds = new Map(sets.map((d) => [d.name, seed(d.cls, 2)]));
    await write(w, [...seeds.values()].flat());
    // Every Warp 10 request is slowed down, so the kill lands inside a page.
    const proxy = new FaultProxy(w.url);
    await proxy.start();
    const taskQueue = uniqueId('pagecrash');
    const { file, config } = writeConfigFile({
      warp10Url: proxy.url,
      taskQueue,
      dataset: 'unused',
      cls: 'unused',
      seriesPerBatch: 10,
      extra: {
        groups: [
          {
            name: group,
            mode: 'sequential',
            datasets: sets.map((d) => ({ name: d.name, selector: { class: d.cls }, seriesPerBatch: 10 })),
          },
        ],
      },
    });
    const store = buildStore(config);
    const workers = [startWorkerProcess(file, w, { WARP10_URL: proxy.url })];
    t.after(async () => {
      for (const x of workers) {
        if (x.exitCode === null && x.signalCode === null) x.kill('SIGKILL');
        await exited(x);
      }
      await proxy.stop();
      await store.close();
    });
    await waitForOutput(workers[0]!, /worker on task queue/);
    proxy.delayMs = 150;
    const run = await startMonthly(env.client, config, { month: MONTH, groups: [group] });
    // Sequential, 6 datasets: pages of 3. Killed once the first dataset is committed, before the third.
    const committed = async () => {
      let n = 0;
      for (const d of sets) {
        if (
          await readJson(
            store,
            monthManifestKey({ group, dataset: d.name, month: MONTH }),
            MonthManifestSchema,
          )
        )
          n++;
      }
      return n;
    };
    await until('a dataset committed', async () => (await committed()) >= 1);
    workers[0]!.kill('SIGKILL');
    assert.equal((await exited(workers[0]!)).signal, 'SIGKILL');
    const midway = await committed();
    assert.ok(midway >= 1 && midway < 3, `killed inside the first page (${midway} committed)`);
    proxy.delayMs = 0;
    workers.push(startWorkerProcess(file, w, { WARP10_URL: proxy.url }));

    const result = (await env.client.workflow.getHandle(run.workflowId, run.runId).result()) as MonthlyResult;
    assert.equal(result.status, 'archived', JSON.stringify(result));
    assert.deepEqual([result.archived, result.skipped, result.failed], [6, 0, 0], JSON.stringify(result));
    for (const d of sets) {
      assert.equal(
        await exists(env.client, datasetWorkflowId({ group, dataset: d.name, month: MONTH })),
        false,
        `${d.name}: archived in a page`,
      );
      const state = await ledger(store, w, group, d.name, d.cls);
      assertExactlyOnce(writtenKeys(seeds.get(d.name)!), state, tickIn(S, E));
    }
  });
});
