// UNIT TEST with a MOCK Warp 10 runner (test/support/mock-warp10.ts): the real `archive` workflow and
// activities on the real Temporal dev server, writing to the real archive store (a temp directory, and
// once the S3 store on a local S3 server), with Warp 10 replaced by an in-memory mock at the
// WarpScriptRunner seam. Needs no Warp 10, so it runs in CI; the same workflow against the real Warp 10
// is archive.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import {
  archiveWorkflowId,
  batchManifestKey,
  batchObjectKey,
  failureWorkflowId,
  monthManifestKey,
  planKey,
} from '../../src/archive/layout.ts';
import { BatchManifestSchema } from '../../src/archive/manifest.ts';
import type { ArchiveResult } from '../../src/workflows/archive.ts';
import {
  COMPLETE_MONTH_KEYS,
  MOCK_TOKENS,
  E,
  S,
  filesUnder,
  mockOffloader,
  monthKeys,
  readArchive,
  seedDataset,
  type MockDataset,
  type MockOffloader,
} from '../support/mock-harness.ts';
import { MockWarp10, type MockCall } from '../support/mock-warp10.ts';
import { startS3Server } from '../support/s3-server.ts';
import { temporalEnv, uniqueId, workflowBundle } from '../support/stack.ts';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

/** A call of archive-read exporting (wrap) / verifying (no wrap) the batch holding `selector`. */
const exportOf =
  (selector: string, wrap = true) =>
  (c: MockCall) =>
    c.params.wrap === wrap && (c.params.selectors as string[]).includes(selector);

/** Asserts the month left Warp 10 (the mock) and every other point stayed. */
function assertMonthGone(mock: MockWarp10, data: MockDataset) {
  for (const [sel, kept] of Object.entries(data.kept)) {
    assert.deepEqual(mock.points(sel), kept, `${sel} keeps exactly its points outside the month`);
  }
  const inMonth = mock.selectors().flatMap((sel) =>
    mock
      .points(sel)
      .filter((p) => p.ts >= S && p.ts < E && sel.startsWith(`${data.cls}{`))
      .map(() => sel),
  );
  assert.deepEqual(inMonth, [], 'no point of the month is left for the dataset');
}

/** Asserts the archive holds, batch by batch, exactly the month's points of each planned series. */
async function assertArchived(o: MockOffloader, data: MockDataset, seriesPerBatch = 10) {
  const batches = data.batches(seriesPerBatch);
  for (const [i, sels] of batches.entries()) {
    const archived = await readArchive(o.rt.store, batchObjectKey(o.ref, i + 1));
    assert.deepEqual([...archived.keys()].sort(), [...sels].sort(), `batch ${i + 1} holds its series`);
    for (const sel of sels) assert.deepEqual(archived.get(sel), data.month.get(sel), `points of ${sel}`);
    const m = BatchManifestSchema.parse(JSON.parse(await o.rt.store.getText(batchManifestKey(o.ref, i + 1))));
    assert.equal(m.status, 'deleted');
  }
}

/** The result of a clean run on the same data, for comparison with runs that met trouble. */
async function baseline(cls: string): Promise<ArchiveResult> {
  const mock = new MockWarp10({ tokens: MOCK_TOKENS });
  seedDataset(mock, cls);
  const o = await mockOffloader(env, { name: 'baseline', mock, cls });
  try {
    return await o.archive();
  } finally {
    await o.close();
  }
}

const same = (a: ArchiveResult, b: ArchiveResult) =>
  assert.deepEqual({ ...a, dataset: '' }, { ...b, dataset: '' });

describe(
  'archive workflow (UNIT, MOCK Warp 10 runner, real Temporal and store)',
  { concurrency: true },
  () => {
    test('archives 25 series in 3 batches, keeps S-1 and E, and a rerun is skipped', async () => {
      const cls = uniqueId('test.mock.happy');
      const mock = new MockWarp10({ tokens: MOCK_TOKENS });
      const data = seedDataset(mock, cls);
      const o = await mockOffloader(env, { name: 'happy', mock, cls });
      try {
        const result = await o.archive();
        assert.equal(result.status, 'archived');
        assert.deepEqual(
          [result.batches, result.series, result.points],
          [3, 25, data.points],
          'batches, series, points',
        );
        assert.deepEqual(await monthKeys(o.rt.store, o.ref), COMPLETE_MONTH_KEYS);
        const objects = await o.rt.store.list(`${o.ref.group}/${o.ref.dataset}/`);
        const objectBytes = objects
          .filter((x) => x.key.endsWith('.wrap.gz'))
          .reduce((n, x) => n + x.bytes, 0);
        assert.equal(result.bytes, objectBytes);
        const manifest = JSON.parse(await o.rt.store.getText(monthManifestKey(o.ref)));
        assert.equal(manifest.points, data.points);
        await assertArchived(o, data);
        assertMonthGone(mock, data);
        // Determinism: the completed run's history replays against the same workflow bundle.
        const history = await env.client.workflow.getHandle(archiveWorkflowId(o.ref)).fetchHistory();
        await Worker.runReplayHistory(
          { workflowBundle: await workflowBundle(), replayName: 'archive' },
          history,
        );
        // One export and one guarded delete per batch, nothing done twice; verify reads the store only
        // (the live comparison is the guarded delete's, in the same request as the DELETE).
        assert.equal(mock.calls('archive-read', (c) => c.params.wrap === true).length, 3);
        // The only other read: the recheck's, of the series missing from the plan (no point in the
        // month); the planned series, deleted by then, are never read again.
        const planned = new Set(data.batches(10).flat());
        const reads = mock.calls('archive-read', (c) => c.params.wrap === false);
        assert.equal(reads.length, 1);
        const reread = (reads[0]?.params.selectors as string[]).filter((x) => planned.has(x));
        assert.deepEqual(reread, [], 'no planned series read by the recheck');
        assert.equal(mock.calls('archive-delete').length, 3);

        const callsBefore = mock.calls().length;
        const snapshot = mock.snapshot();
        const again = await o.archive();
        assert.equal(again.status, 'skipped');
        assert.match(again.reason ?? '', /already archived/);
        assert.deepEqual([again.batches, again.series, again.points], [3, 25, data.points]);
        // A rerun only lists the month's live series (the recheck for late data): there are none.
        assert.deepEqual(
          mock
            .calls()
            .slice(callsBefore)
            .map((c) => c.script),
          ['archive-plan'],
          'a rerun of an archived month only looks for late series',
        );
        assert.deepEqual(mock.snapshot(), snapshot);
        assert.deepEqual(await monthKeys(o.rt.store, o.ref), COMPLETE_MONTH_KEYS);
      } finally {
        await o.close();
      }
    });

    test('a dry run lists batches and points and changes nothing', async () => {
      const cls = uniqueId('test.mock.dry');
      const mock = new MockWarp10({ tokens: MOCK_TOKENS });
      const data = seedDataset(mock, cls);
      const snapshot = mock.snapshot();
      const o = await mockOffloader(env, { name: 'dry', mock, cls });
      try {
        const result = await o.archive({ dryRun: true });
        assert.equal(result.status, 'dry-run');
        assert.deepEqual([result.batches, result.series, result.points], [3, 25, data.points]);
        const batches = data.batches(10);
        assert.deepEqual(
          result.dryRun,
          batches.map((sels, i) => ({
            batch: i + 1,
            series: sels.length,
            points: sels.reduce((n, s) => n + (data.month.get(s)?.length ?? 0), 0),
            object: batchObjectKey(o.ref, i + 1),
          })),
        );
        assert.deepEqual(await o.rt.store.list(''), [], 'nothing written, not even the plan');
        assert.deepEqual(mock.snapshot(), snapshot, 'Warp 10 untouched');
        assert.equal(mock.calls('archive-delete').length, 0);
        assert.equal(mock.calls('archive-read', (c) => c.params.wrap === true).length, 0);
      } finally {
        await o.close();
      }
    });

    test('Warp 10 failing the export of batch 2 twice (retryable): same result, no duplicate object', async () => {
      const cls = uniqueId('test.mock.retry');
      const mock = new MockWarp10({ tokens: MOCK_TOKENS });
      const data = seedDataset(mock, cls);
      const batch2 = data.batches(10)[1]?.[0] as string;
      mock.failNext('archive-read', 2, { kind: 'unavailable' }, exportOf(batch2));
      const o = await mockOffloader(env, { name: 'retry', mock, cls });
      try {
        const [result, clean] = await Promise.all([o.archive(), baseline(cls)]);
        same(result, clean);
        assert.equal(result.status, 'archived');
        assert.equal(mock.calls('archive-read', exportOf(batch2)).length, 3, 'two failures, then success');
        const batch1 = data.batches(10)[0]?.[0] as string;
        assert.equal(mock.calls('archive-read', exportOf(batch1)).length, 1, 'batch 1 exported once');
        assert.deepEqual(await monthKeys(o.rt.store, o.ref), COMPLETE_MONTH_KEYS);
        await assertArchived(o, data);
        assertMonthGone(mock, data);
      } finally {
        await o.close();
      }
    });

    test('a worker stopped mid-export: a new worker finishes the run, same result, no duplicate object', async () => {
      const cls = uniqueId('test.mock.crash');
      const mock = new MockWarp10({ tokens: MOCK_TOKENS });
      const data = seedDataset(mock, cls);
      const batch2 = data.batches(10)[1]?.[0] as string;
      // The reply for batch 2 stops halfway and never resumes: only the worker's shutdown ends it.
      const hang = mock.hang('archive-read', { when: exportOf(batch2), midStream: true });
      const o = await mockOffloader(env, { name: 'crash', mock, cls });
      try {
        const first = await o.worker();
        const running = first.run();
        const handle = await o.start();
        const clean = baseline(cls);
        await hang.started;
        first.shutdown();
        await running;
        assert.equal(mock.calls('archive-delete').length, 0, 'nothing deleted by the stopped worker');

        const second = await o.worker();
        const result = (await second.runUntil(handle.result())) as ArchiveResult;
        same(result, await clean);
        assert.equal(mock.calls('archive-read', exportOf(batch2)).length, 2, 'batch 2 exported again, once');
        const batch1 = data.batches(10)[0]?.[0] as string;
        assert.equal(mock.calls('archive-read', exportOf(batch1)).length, 1, 'batch 1 not exported again');
        assert.deepEqual(await monthKeys(o.rt.store, o.ref), COMPLETE_MONTH_KEYS);
        const root = (o.config.store as { path: string }).path;
        assert.deepEqual(
          (await filesUnder(root))
            .map((f) => f.replace(/index-[0-9a-f]{16}\.idx$/, 'index-<sha>.idx'))
            .map((f) => f.replace(/catalog-[0-9a-f]{16}\.json$/, 'catalog-<sha>.json')),
          [
            'catalog.json',
            ...COMPLETE_MONTH_KEYS.map((k) => `${o.ref.group}/${o.ref.dataset}/${o.ref.month}/${k}`),
            `${o.ref.group}/${o.ref.dataset}/catalog-<sha>.json`,
          ],
          'no partial or temporary file left behind (the catalog: the month published)',
        );
        await assertArchived(o, data);
        assertMonthGone(mock, data);
      } finally {
        await o.close();
      }
    });

    test('parallel batches: at most batchConcurrency in flight; a worker stopped midway, a new one finishes exactly', async () => {
      const cls = uniqueId('test.mock.par');
      const mock = new MockWarp10({ tokens: MOCK_TOKENS });
      const data = seedDataset(mock, cls);
      const batches = data.batches(5);
      assert.equal(batches.length, 5);
      // Batches 1, 2 and 3 export at once and hang: batch 4 must wait for a free slot.
      const hangs = [0, 1, 2].map((i) => mock.hang('archive-read', { when: exportOf(batches[i]![0]!) }));
      const o = await mockOffloader(env, { name: 'par', mock, cls, seriesPerBatch: 5, batchConcurrency: 3 });
      try {
        const first = await o.worker();
        const running = first.run();
        const handle = await o.start();
        await Promise.all(hangs.map((h) => h.started));
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(mock.calls('archive-read', exportOf(batches[3]![0]!)).length, 0, 'batch 4 waits');
        first.shutdown();
        await running;
        assert.equal(mock.calls('archive-delete').length, 0, 'nothing deleted by the stopped worker');

        const second = await o.worker();
        const result = (await second.runUntil(handle.result())) as ArchiveResult;
        assert.equal(result.status, 'archived');
        assert.equal(result.batches, 5);
        assert.equal(result.series, 25);
        for (const [i, sels] of batches.entries()) {
          assert.equal(
            mock.calls('archive-read', exportOf(sels[0]!)).length,
            i < 3 ? 2 : 1,
            `batch ${i + 1}`,
          );
        }
        assert.equal(mock.calls('archive-delete').length, 5, 'one guarded delete per batch');
        const keys = ['index-<sha>.idx', 'manifest.json', 'plan.json'];
        for (let b = 1; b <= 5; b++) keys.push(`batch-0000${b}.json`, `batch-0000${b}.wrap.gz`);
        assert.deepEqual(await monthKeys(o.rt.store, o.ref), keys.sort());
        await assertArchived(o, data, 5);
        assertMonthGone(mock, data);
      } finally {
        await o.close();
      }
    });

    test("a WarpScript error fails fast with Warp 10's line and message, and deletes nothing", async () => {
      const cls = uniqueId('test.mock.wserr');
      const mock = new MockWarp10({ tokens: MOCK_TOKENS });
      const data = seedDataset(mock, cls);
      const snapshot = mock.snapshot();
      const batch2 = data.batches(10)[1]?.[0] as string;
      const message = "Exception at 'WRAP' in section [TOP] (mock: value too large)";
      mock.failNext('archive-read', 1, { kind: 'script', line: 17, message }, exportOf(batch2));
      const o = await mockOffloader(env, { name: 'wserr', mock, cls });
      try {
        const worker = await o.worker();
        const [err, compensation] = await worker.runUntil(async () => {
          const handle = await o.start();
          const e = await handle.result().then(
            () => undefined,
            (x: unknown) => x,
          );
          // The compensating workflow runs on the same worker; wait for it so nothing is left running.
          const failure = env.client.workflow.getHandle(failureWorkflowId(o.ref, handle.firstExecutionRunId));
          return [e, await failure.result()] as const;
        });
        assert.ok(err instanceof WorkflowFailedError);
        assert.ok(err.cause instanceof ActivityFailure);
        assert.equal(err.cause.activityType, 'exportBatch');
        const cause = err.cause.cause;
        assert.ok(cause instanceof ApplicationFailure);
        assert.equal(cause.type, 'WarpScriptError');
        assert.equal(cause.nonRetryable, true);
        assert.match(
          cause.message,
          /^batch 2: WarpScript archive-read\.mc2 failed at line 17: Exception at 'WRAP'/,
        );
        assert.deepEqual((cause.details?.[0] as { warp10?: unknown }).warp10, { line: 17, message });
        assert.equal(mock.calls('archive-read', exportOf(batch2)).length, 1, 'attempted once');
        assert.equal(mock.calls('archive-delete').length, 0);
        assert.deepEqual(mock.snapshot(), snapshot, 'nothing deleted');
        // Batch 1 was exported but never verified: the compensation removed it.
        assert.deepEqual(compensation.removed.sort(), [batchManifestKey(o.ref, 1), batchObjectKey(o.ref, 1)]);
        assert.deepEqual(await monthKeys(o.rt.store, o.ref), ['failure.json', 'plan.json']);
        assert.ok(await o.rt.store.head(planKey(o.ref)));
      } finally {
        await o.close();
      }
    });

    test('Warp 10 unavailable 3 times during a delete (timeout, reply lost, refused), then back: completes', async () => {
      const cls = uniqueId('test.mock.down');
      const mock = new MockWarp10({ tokens: MOCK_TOKENS });
      const data = seedDataset(mock, cls);
      const batch2 = data.batches(10)[1] as string[];
      const ofBatch2 = (c: MockCall) => (c.params.expected as [string][])[0]?.[0] === batch2[0];
      // Deleting batch 2: no answer (the client times out); then Warp 10 deletes but the reply is lost;
      // then Warp 10 cannot be reached.
      const hang = mock.hang('archive-delete', { when: ofBatch2, timeoutMs: 300 });
      mock.failNext('archive-delete', 1, { kind: 'unavailable', afterRun: true }, ofBatch2);
      mock.failNext('archive-delete', 1, { kind: 'unavailable' }, ofBatch2);
      const o = await mockOffloader(env, { name: 'down', mock, cls });
      try {
        const result = await o.archive();
        assert.equal(result.status, 'archived');
        assert.deepEqual([result.batches, result.series, result.points], [3, 25, data.points]);
        assert.equal((await hang.started).n, mock.calls('archive-delete', ofBatch2)[0]?.n);
        assert.deepEqual(
          mock.calls('archive-delete', ofBatch2).map((c) => c.outcome),
          ['hung', 'error', 'error', 'ok'],
        );
        const m = BatchManifestSchema.parse(JSON.parse(await o.rt.store.getText(batchManifestKey(o.ref, 2))));
        assert.deepEqual(m.deleted, { deleted: 0, alreadyGone: batch2.length, checked: batch2.length });
        assert.deepEqual(await monthKeys(o.rt.store, o.ref), COMPLETE_MONTH_KEYS);
        await assertArchived(o, data);
        assertMonthGone(mock, data);
      } finally {
        await o.close();
      }
    });

    test('series whose labels extend another series: all archived, whatever order Warp 10 lists them in', async () => {
      const cls = uniqueId('test.mock.subset');
      // Warp 10 lists series in its own order; here {host=a} comes before {core=1,host=a} and {host=a,zz=9},
      // which its selector also matches. Deleting {host=a} first would have to refuse (AMBIGUOUS_SELECTOR).
      const mock = new MockWarp10({ tokens: MOCK_TOKENS, findOrder: (a, b) => (a < b ? 1 : a > b ? -1 : 0) });
      const sels = [
        mock.add(`${cls}{host=b}`, [{ ts: S + 1, value: 1 }]),
        mock.add(`${cls}{host=a}`, [{ ts: S + 2, value: 2 }]),
        mock.add(`${cls}{host=a,zz=9}`, [{ ts: S + 3, value: 3 }]),
        mock.add(`${cls}{host=a,core=1}`, [
          { ts: S - 1, value: 0 },
          { ts: S + 4, value: 4 },
        ]),
      ];
      const o = await mockOffloader(env, { name: 'subset', mock, cls, seriesPerBatch: 1 });
      try {
        const result = await o.archive();
        assert.equal(result.status, 'archived');
        assert.deepEqual([result.batches, result.series, result.points], [4, 4, 4]);
        const plan = JSON.parse(await o.rt.store.getText(planKey(o.ref))) as { batches: string[][] };
        const position = (sel: string) => plan.batches.findIndex((b) => b.includes(sel));
        assert.ok(position(sels[1] as string) > position(sels[2] as string), '{host=a} after {host=a,zz=9}');
        assert.ok(
          position(sels[1] as string) > position(sels[3] as string),
          '{host=a} after {core=1,host=a}',
        );
        for (const [i, sel] of sels.entries()) {
          const archived = await readArchive(o.rt.store, batchObjectKey(o.ref, position(sel) + 1));
          assert.deepEqual([...archived.entries()], [[sel, [{ ts: S + 1 + i, value: 1 + i }]]]);
        }
        assert.deepEqual(
          sels.map((sel) => mock.points(sel)),
          [[], [], [], [{ ts: S - 1, value: 0 }]],
        );
      } finally {
        await o.close();
      }
    });

    test('archives into the S3 store (local S3 server)', async () => {
      const s3 = await startS3Server(['archive']);
      process.env.OFFLOADER_MOCK_S3_KEY_ID = s3.accessKeyId;
      process.env.OFFLOADER_MOCK_S3_SECRET = s3.secretAccessKey;
      const cls = uniqueId('test.mock.s3');
      const mock = new MockWarp10({ tokens: MOCK_TOKENS });
      const data = seedDataset(mock, cls);
      const o = await mockOffloader(env, {
        name: 's3',
        mock,
        cls,
        store: {
          type: 's3',
          endpoint: s3.endpoint,
          region: s3.region,
          bucket: 'archive',
          prefix: 'warp10',
          accessKeyId: { env: 'OFFLOADER_MOCK_S3_KEY_ID' },
          secretAccessKey: { env: 'OFFLOADER_MOCK_S3_SECRET' },
        },
      });
      try {
        assert.match(o.rt.store.description, /^s3:\/\/archive\/warp10\//);
        const result = await o.archive();
        assert.equal(result.status, 'archived');
        assert.deepEqual([result.batches, result.series, result.points], [3, 25, data.points]);
        assert.deepEqual(await monthKeys(o.rt.store, o.ref), COMPLETE_MONTH_KEYS);
        await assertArchived(o, data);
        assertMonthGone(mock, data);
        assert.equal((await o.archive()).status, 'skipped');
      } finally {
        await o.close();
        await s3.stop();
      }
    });
  },
);
