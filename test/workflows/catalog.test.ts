// The catalog's single writer on the real Temporal dev server: commits of many datasets publishing at
// once (a monthly run) all end up in catalog.json, where the same publishes run side by side without it
// drop each other's change.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { publishMonths, readCatalog, readDatasetCatalog } from '../../src/archive/catalog-store.ts';
import { monthManifestKey, type MonthRef } from '../../src/archive/layout.ts';
import type { MonthManifest } from '../../src/archive/manifest.ts';
import { catalogWorkflowId, createCatalogActivities } from '../../src/activities/catalog.ts';
import { createStoreActivities } from '../../src/activities/store.ts';
import { LocalStore, type ArchiveStore } from '../../src/store/index.ts';
import { temporalEnv, uniqueId, workflowBundle } from '../support/stack.ts';
import { tempDir } from '../support/config.ts';
import { stubWorld, uniqueGroup } from '../support/monthly-stubs.ts';
import { startMonthly } from '../../src/client/monthly.ts';
import type { MonthlyResult } from '../../src/workflows/monthly.ts';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

const MONTHS = ['2026-01', '2026-02', '2026-03'];
const DATASETS = Array.from({ length: 12 }, (_, i) => `ds-${String(i).padStart(2, '0')}`);

/** A committed month without an index (as before indexes): what the catalog lists is its manifest. */
async function commitAll(store: LocalStore): Promise<MonthRef[]> {
  const refs: MonthRef[] = [];
  for (const dataset of DATASETS) {
    for (const month of MONTHS) {
      const ref = { group: 'g', dataset, month };
      const startUs = Date.parse(`${month}-01T00:00:00Z`) * 1000;
      const manifest: MonthManifest = {
        format: 'warp10-offloader/month@1',
        ...ref,
        range: { timezone: 'UTC', startIso: '', endIso: '', startUs, endUs: startUs + 1 },
        batches: [],
        series: 1,
        points: 1,
        bytes: 1,
        plannedAt: '',
        committedAt: '',
        workflowId: 'w',
        runId: 'r',
      };
      await store.put(monthManifestKey(ref), JSON.stringify(manifest));
      refs.push(ref);
    }
  }
  return refs;
}

async function listed(store: ArchiveStore): Promise<string[]> {
  const root = await readCatalog(store);
  const out: string[] = [];
  for (const d of root?.datasets ?? []) {
    for (const m of (await readDatasetCatalog(store, d)).months) out.push(`${d.dataset}/${m.month}`);
  }
  return out.sort();
}

async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A worker of a task queue of its own running the real catalog writer over `store`. */
async function catalogWorker(
  store: ArchiveStore,
  name: string,
): Promise<{ taskQueue: string; worker: Worker }> {
  const taskQueue = uniqueId(name);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: { ...createStoreActivities({ store }), ...createCatalogActivities({ store }) },
  });
  return { taskQueue, worker };
}

describe('archive catalog writer', () => {
  test('cold tier: catalog, 36 months of 12 datasets asked at once — every one listed, waiting requests published together', async () => {
    const store = new LocalStore(tempDir('catalog-wf'));
    const refs = await commitAll(store);
    const { taskQueue, worker } = await catalogWorker(store, 'catalog');
    await worker.runUntil(async () => {
      // All at once, as the commits of a monthly run ask: requestPublish itself, each in an activity
      // context of its own on this task queue.
      const { requestPublish } = createCatalogActivities({ store });
      const ask = (ref: MonthRef) =>
        new MockActivityEnvironment({ taskQueue }, { client: env.client }).run(requestPublish, ref);
      assert.deepEqual(await Promise.all(refs.map(ask)), Array(refs.length).fill(true));
      await until(async () => (await listed(store)).length === refs.length, 60_000);
      // A rerun of a committed month the catalog lists at its commit has nothing to publish.
      assert.equal(await ask(refs[0]!), false);
      const history = await env.client.workflow.getHandle(catalogWorkflowId(taskQueue)).fetchHistory();
      const publishes = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
      assert.ok(publishes < refs.length, `waiting requests are published together (${publishes} publishes)`);
    });
    assert.deepEqual(await listed(store), refs.map((r) => `${r.dataset}/${r.month}`).sort());
  });

  test('cold tier: catalog without its single writer, the same publishes side by side — months lost (why it has one)', async () => {
    const store = new LocalStore(tempDir('catalog-race'));
    const refs = await commitAll(store);
    await Promise.all(refs.map((ref) => publishMonths(store, [ref])));
    const got = await listed(store);
    assert.ok(
      got.length < refs.length,
      `without one writer ${got.length} of ${refs.length} months are listed`,
    );
  });

  test('cold tier: catalog, a monthly run of 6 datasets at once on a worker of 2 activity slots — commits wait for their answer holding no slot; all 6 listed', async () => {
    const group = uniqueGroup('cat');
    const w = await stubWorld(env, {
      groups: [
        {
          name: group,
          mode: 'parallel',
          concurrency: 6,
          datasets: Array.from({ length: 6 }, (_, i) => ({ name: `ds${i}`, selector: { class: `c.${i}` } })),
        },
      ],
      maxConcurrentActivityTaskExecutions: 2,
    });
    const result = await w.worker.runUntil(async () => {
      const run = await startMonthly(env.client, w.config, { month: '2025-03' });
      // Stuck for good if the publish waits for a slot the waiting commits hold: say so, do not hang.
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error('the monthly run is stuck: no publish could start')),
          90_000,
        );
      });
      try {
        return (await Promise.race([
          env.client.workflow.getHandle(run.workflowId).result(),
          stuck,
        ])) as MonthlyResult;
      } finally {
        clearTimeout(timer);
      }
    });
    assert.deepEqual(
      result.groups[0]?.result?.datasets.map((d) => d.status),
      Array(6).fill('archived'),
    );
    assert.deepEqual(
      await listed(w.store),
      Array.from({ length: 6 }, (_, i) => `ds${i}/2025-03`),
    );
  });

  test('catalog: a request of no month is ignored; of a month not committed, it writes nothing', async () => {
    const store = new LocalStore(tempDir('catalog-bad'));
    const { taskQueue, worker } = await catalogWorker(store, 'catalog-bad');
    await worker.runUntil(async () => {
      const send = (month: string) =>
        env.client.workflow.signalWithStart('archiveCatalog', {
          workflowId: catalogWorkflowId(taskQueue),
          taskQueue,
          args: [[]],
          signal: 'publishRequest',
          signalArgs: [{ group: 'g', dataset: 'd', month }],
        });
      await send('2026-13-01');
      await send('2026-01');
      const handle = env.client.workflow.getHandle(catalogWorkflowId(taskQueue));
      const published = async () =>
        ((await handle.fetchHistory()).events ?? []).filter((e) => e.activityTaskCompletedEventAttributes)
          .length;
      await until(async () => (await published()) > 0, 30_000);
      const scheduled = ((await handle.fetchHistory()).events ?? []).flatMap(
        (e) =>
          e.activityTaskScheduledEventAttributes?.input?.payloads?.map((p) =>
            Buffer.from(p.data!).toString(),
          ) ?? [],
      );
      assert.deepEqual(scheduled, [JSON.stringify([{ group: 'g', dataset: 'd', month: '2026-01' }])]);
    });
    assert.equal(await readCatalog(store), undefined, 'nothing committed: no catalog written');
  });
});
