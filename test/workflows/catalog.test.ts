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
import { LocalStore } from '../../src/store/index.ts';
import { temporalEnv, uniqueId, workflowBundle } from '../support/stack.ts';
import { tempDir } from '../support/config.ts';

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

async function listed(store: LocalStore): Promise<string[]> {
  const root = await readCatalog(store);
  const out: string[] = [];
  for (const d of root?.datasets ?? []) {
    for (const m of (await readDatasetCatalog(store, d)).months) out.push(`${d.dataset}/${m.month}`);
  }
  return out.sort();
}

describe('archive catalog writer', () => {
  test('cold tier: catalog, 36 months of 12 datasets published at once — every one listed when its publish returns', async () => {
    const store = new LocalStore(tempDir('catalog-wf'));
    const refs = await commitAll(store);
    const taskQueue = uniqueId('catalog');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: { ...createStoreActivities({ store }), ...createCatalogActivities({ store }) },
    });
    await worker.runUntil(async () => {
      // All at once, as the commits of a monthly run send them: publishToCatalog itself, each in an activity
      // context of its own on this task queue (more than the server's 10 updates in flight a workflow).
      const { publishToCatalog } = createCatalogActivities({ store });
      await Promise.all(
        refs.map((ref) =>
          new MockActivityEnvironment({ taskQueue }, { client: env.client }).run(publishToCatalog, ref),
        ),
      );
      // Every update returned: every month is in the catalog already.
      assert.equal((await listed(store)).length, refs.length);
      // A rerun of a committed month the catalog lists at its commit has nothing to publish.
      const again = await new MockActivityEnvironment({ taskQueue }, { client: env.client }).run(
        publishToCatalog,
        refs[0]!,
      );
      assert.equal(again, false);
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

  test('catalog: a publish of no month is refused by its validator; of a month not committed, it writes nothing', async () => {
    const store = new LocalStore(tempDir('catalog-bad'));
    const taskQueue = uniqueId('catalog-bad');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: { ...createStoreActivities({ store }), ...createCatalogActivities({ store }) },
    });
    await worker.runUntil(async () => {
      const { WithStartWorkflowOperation } = await import('@temporalio/client');
      const start = () =>
        new WithStartWorkflowOperation('archiveCatalog', {
          workflowId: catalogWorkflowId(taskQueue),
          taskQueue,
          args: [],
          workflowIdConflictPolicy: 'USE_EXISTING',
        });
      // Not a month: the update's validator refuses it before anything runs.
      await assert.rejects(
        () =>
          env.client.workflow.executeUpdateWithStart('publishMonth', {
            args: [{ group: 'g', dataset: 'd', month: '2026-13-01' }],
            startWorkflowOperation: start(),
          }),
        (err: Error) => /publishMonth takes \{ group, dataset, month: YYYY-MM \}/.test(String(err.cause)),
      );
      await env.client.workflow.executeUpdateWithStart('publishMonth', {
        args: [{ group: 'g', dataset: 'd', month: '2026-01' }],
        startWorkflowOperation: start(),
      });
    });
    assert.equal(await readCatalog(store), undefined, 'nothing committed: no catalog written');
  });
});
