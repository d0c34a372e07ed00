// The month's index staged ahead of its commit (stageMonthIndex, while the last batches are deleted): the
// commit takes it only when it was built from the very batch manifests it commits and is stored intact;
// otherwise it builds its own, and an index nothing names is removed (by the commit, or by the
// compensation of a failed run) while one a manifest or the catalog names stays.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createStoreActivities, type StagedIndex } from '../../src/activities/store.ts';
import { seriesOwners } from '../../src/activities/warp10/owners.ts';
import { archiveWorkflowId, monthManifestKey, monthPrefix, type MonthRef } from '../../src/archive/layout.ts';
import { MonthManifestSchema } from '../../src/archive/manifest.ts';
import { auditMonth } from '../../src/archive/audit.ts';
import { readJson } from '../../src/activities/store-json.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import type { ArchiveResult } from '../../src/workflows/archive.ts';
import { writeConfigFile } from '../support/config.ts';
import { utcMonth } from '../support/month.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle } from '../support/stack.ts';

const H = 3_600_000_000;
const MONTH = '2022-05';

let env: TestWorkflowEnvironment;
let rt: Runtime | undefined;
let ref: MonthRef;
let historyOfRun: { activity: string; input: unknown }[] = [];

before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await rt?.close();
  await env?.teardown();
});

/** The store activities as the worker builds them, counting the owners asked of Warp 10. */
function storeActivities(r: Runtime, asked: { n: number }, owners = true) {
  return createStoreActivities({
    store: r.store,
    owners: async (selector) => {
      asked.n++;
      return owners
        ? seriesOwners({ runner: r.runner, tokens: r.tokens }, selector, { warn: () => {} })
        : undefined;
    },
  });
}

const indexKeys = async (r: Runtime) =>
  (await r.store.list(monthPrefix(ref)))
    .map((o) => o.key)
    .filter((k) => /\/index-[0-9a-f]{16}\.idx$/.test(k));
const manifestOf = async (r: Runtime) =>
  (await readJson(r.store, monthManifestKey(ref), MonthManifestSchema))!;

describe('store: the month index staged ahead of the commit (real Warp 10, real Temporal, real store)', () => {
  test('an archive run stages the index while its batches are deleted, and its commit takes it: one index object, the one manifest.json names, verify-archive clean', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.stage').replace(/-/g, '.');
    const dataset = cls.replace(/[^a-z0-9]/g, '');
    const taskQueue = uniqueId('stage-index');
    const c = writeConfigFile({ warp10Url: w.url, taskQueue, dataset, cls, seriesPerBatch: 3 });
    rt = buildRuntime(c.config);
    ref = { group: 'infra', dataset, month: MONTH };
    const { S } = utcMonth(MONTH);
    const lines: string[] = [];
    for (let s = 0; s < 8; s++)
      for (let i = 0; i < 5; i++) lines.push(`${S + i * H}// ${cls}{host=h${s}} ${s * 10 + i}`);
    await rt.client.update(rt.tokens.write, lines.join('\n'));

    const worker = await createOffloadWorker({
      connection: env.nativeConnection,
      runtime: rt,
      taskQueue,
      workflowBundle: await workflowBundle(),
    });
    const workflowId = `${archiveWorkflowId(ref)}-${taskQueue}`;
    const result: ArchiveResult = await worker.runUntil(
      env.client.workflow.execute('archive', { taskQueue, workflowId, args: [ref] }),
    );
    assert.equal(result.points, 40);
    assert.equal(result.batches, 3);

    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    historyOfRun = (history.events ?? []).flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      if (!a) return [];
      const data = a.input?.payloads?.[0]?.data;
      return [
        {
          activity: a.activityType?.name ?? '',
          input: data ? JSON.parse(Buffer.from(data).toString()) : undefined,
        },
      ];
    });
    const order = historyOfRun.map((x) => x.activity);
    const staged = order.indexOf('stageMonthIndex');
    assert.ok(staged > order.lastIndexOf('exportBatch'), `staged after the last export: ${order.join(', ')}`);
    assert.ok(
      staged < order.lastIndexOf('deleteBatch'),
      `staged before the last delete: ${order.join(', ')}`,
    );
    const commit = historyOfRun.find((x) => x.activity === 'commitMonth')!.input as { staged?: StagedIndex };
    const manifest = await manifestOf(rt);
    assert.equal(
      commit.staged?.key,
      manifest.index?.key,
      'the commit was handed the staged index and took it',
    );
    assert.deepEqual(
      await indexKeys(rt),
      [manifest.index!.key],
      'one index object: the one manifest.json names',
    );
    const audit = await auditMonth(rt.store, ref);
    assert.deepEqual(audit.problems, []);
  });

  test('a commit takes a staged index only when built from its own batch manifests and stored intact; otherwise it builds its own', async (t) => {
    if (!warp10OrSkip(t) || !rt) return;
    const r = rt;
    const asked = { n: 0 };
    const acts = storeActivities(r, asked);
    const run = { ...ref, workflowId: 'test', runId: 'test' };
    const staged = (await acts.stageMonthIndex(ref))!;
    assert.equal(asked.n, 1, 'staging asks Warp 10 for the owners');
    assert.equal(staged.key, (await manifestOf(r)).index?.key, 'the same batches give the same index');

    // Built from these manifests, intact: taken, nothing asked of Warp 10.
    asked.n = 0;
    await acts.commitMonth({ ...run, staged });
    assert.equal(asked.n, 0, 'taken: the owners are not asked again');
    assert.equal((await manifestOf(r)).index?.key, staged.key);

    // Built from other manifests (late data came after it): the commit builds its own.
    asked.n = 0;
    await acts.commitMonth({ ...run, staged: { ...staged, inputs: '0'.repeat(64) } });
    assert.equal(asked.n, 1, 'not taken: the commit asks the owners and builds');

    // Damaged since it was staged: rebuilt and stored again, whole.
    const good = await r.store.sha256(staged.key);
    const bytes = Buffer.alloc(staged.ref.bytes, 7);
    await r.store.put(staged.key, bytes);
    asked.n = 0;
    await acts.commitMonth({ ...run, staged });
    assert.equal(asked.n, 1, 'a damaged staged index is not taken');
    assert.equal(await r.store.sha256(staged.key), good, 'the index object is whole again');

    // Staged without the owners while Warp 10 can say them, or by another index format: not taken.
    for (const other of [
      { ...staged, owners: false },
      { ...staged, ref: { ...staged.ref, format: 'warp10-offloader/index@1' as const } },
    ]) {
      asked.n = 0;
      await acts.commitMonth({ ...run, staged: other });
      assert.equal(
        asked.n,
        1,
        `not taken: ${JSON.stringify({ owners: other.owners, format: other.ref.format })}`,
      );
    }

    // A key that is not the month's own index of that SHA-256: not taken.
    asked.n = 0;
    await acts.commitMonth({ ...run, staged: { ...staged, key: `${monthPrefix(ref)}manifest.json` } });
    assert.equal(asked.n, 1, 'a staged key that does not match its content is not taken');
    assert.ok(await r.store.head(monthManifestKey(ref)), 'and nothing it named is removed');
    await acts.publishCatalog([ref]); // as the archive run does after its commit
    assert.deepEqual((await auditMonth(r.store, ref)).problems, []);
  });

  test('a staged index the commit does not take is removed unless the catalog names it; the compensation removes the one its run staged if nothing names it', async (t) => {
    if (!warp10OrSkip(t) || !rt) return;
    const r = rt;
    const asked = { n: 0 };
    const run = { ...ref, workflowId: 'test', runId: 'test' };
    const listed = (await manifestOf(r)).index!.key; // the catalog names it (the archive run published it)

    // A staged index of stale inputs, nothing names it: the commit removes it after writing manifest.json.
    const stray = `${monthPrefix(ref)}index-${'ab'.repeat(8)}.idx`;
    await r.store.put(stray, 'not an index');
    const info = await r.store.head(stray);
    const staleStray: StagedIndex = {
      key: stray,
      ref: { ...(await manifestOf(r)).index!, bytes: info!.bytes, sha256: 'ab'.repeat(32) },
      owners: true,
      inputs: '1'.repeat(64),
    };
    await storeActivities(r, asked).commitMonth({ ...run, staged: staleStray });
    assert.equal(await r.store.head(stray), undefined, 'the stray staged index is gone');
    assert.ok(await r.store.head(listed), 'the index manifest.json names stays');

    // A commit whose index differs (no owners known) while the catalog still names the former index:
    // the former one is named, so it stays.
    await storeActivities(r, asked, false).commitMonth({
      ...run,
      staged: { ...staleStray, key: listed, inputs: '2'.repeat(64) },
    });
    const other = (await manifestOf(r)).index!.key;
    assert.notEqual(other, listed);
    assert.ok(await r.store.head(listed), 'the index the catalog names stays');

    // The compensation of a failed run removes the index that run staged, if nothing names it, and no
    // other: an index another writer just put is unnamed until its manifest.json is written.
    const pending = `${monthPrefix(ref)}index-${'cd'.repeat(8)}.idx`;
    await r.store.put(pending, 'put by another writer, its manifest.json not written yet');
    await r.store.put(stray, 'not an index');
    const compensate = (stagedIndex: string) =>
      storeActivities(r, asked).compensateFailure({
        ...ref,
        phase: 'delete',
        error: { type: 'Test', message: 'test' },
        workflowId: 'test',
        runId: 'test',
        stagedIndex,
      });
    const c = await compensate(stray);
    assert.deepEqual([c.removed, c.removedIndex], [[], stray]);
    assert.equal((await compensate(listed)).removedIndex, undefined, 'the catalog names it: kept');
    assert.equal((await compensate(other)).removedIndex, undefined, 'manifest.json names it: kept');
    assert.deepEqual((await indexKeys(r)).sort(), [listed, other, pending].sort());

    // Committed again with the owners, manifest.json names the listed index again: the other one is
    // nobody's now, and the compensation of the run that staged it removes it.
    await storeActivities(r, asked).commitMonth(run);
    assert.equal((await manifestOf(r)).index?.key, listed);
    assert.equal((await compensate(other)).removedIndex, other);
    await r.store.delete(pending);
    assert.deepEqual(await indexKeys(r), [listed]);
  });
});
