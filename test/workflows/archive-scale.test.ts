// A dataset of any size: 2,000 batches on the real Temporal dev server and the real Warp 10. The archive
// continues as new before a history grows large, and its progress and phase stay right across runs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { archiveWorkflowId, monthManifestKey } from '../../src/archive/layout.ts';
import { MonthManifestSchema } from '../../src/archive/manifest.ts';
import { OffloadPhase } from '../../src/search-attributes.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { archiveProgress, type ArchiveProgress, type ArchiveResult } from '../../src/workflows/archive.ts';
import { testConfig } from '../support/config.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle } from '../support/stack.ts';
import { utcMonth } from '../support/month.ts';

const MONTH = '2026-07';
const { S, E } = utcMonth(MONTH);
const SERIES = 4_000;
const PER_BATCH = 2;
const MAX_EVENTS = 10_000;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

test('2,000 batches: every history under 10,000 events, progress right across runs, the month gone', async (t) => {
  const w = warp10OrSkip(t);
  if (!w) return;
  const cls = uniqueId('test.scale').replace(/-/g, '.');
  const config = testConfig({
    groups: [
      {
        name: 'infra',
        datasets: [
          { name: 'scale', selector: { class: cls }, seriesPerBatch: PER_BATCH, batchConcurrency: 4 },
        ],
      },
    ],
  });
  const rt = buildRuntime(config, { log: () => {} });
  // Two points a series: one inside the month, one just after it (must stay).
  const lines: string[] = [];
  for (let i = 0; i < SERIES; i++) {
    lines.push(`${S + i}// ${cls}{s=${i}} ${i}`, `${E + i}// ${cls}{s=${i}} ${-i}`);
    if (lines.length >= 100_000) await rt.client.update(rt.tokens.write, lines.splice(0).join('\n'));
  }
  if (lines.length > 0) await rt.client.update(rt.tokens.write, lines.join('\n'));

  const ref = { group: 'infra', dataset: 'scale', month: MONTH };
  const taskQueue = uniqueId('scale');
  const workflowId = `${archiveWorkflowId(ref)}-${taskQueue}`;
  const worker = await createOffloadWorker({
    connection: env.nativeConnection,
    runtime: rt,
    taskQueue,
    workflowBundle: await workflowBundle(),
  });
  const seen: ArchiveProgress[] = [];
  const result = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('archive', { taskQueue, workflowId, args: [ref] });
    const done = handle.result() as Promise<ArchiveResult>;
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => {});
    while (!finished) {
      // The query follows the chain: it reaches whichever run is current.
      const p = await env.client.workflow
        .getHandle(workflowId)
        .query(archiveProgress)
        .catch(() => undefined);
      if (p) seen.push(p);
      await new Promise((r) => setTimeout(r, 1000));
    }
    return done;
  });

  assert.equal(result.status, 'archived');
  assert.equal(result.batches, SERIES / PER_BATCH);
  assert.equal(result.series, SERIES);
  assert.equal(result.points, SERIES);

  // Every run of the chain, each history bounded.
  const runs: { runId: string; events: number; status: string }[] = [];
  for await (const info of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await env.client.workflow.getHandle(workflowId, info.runId).fetchHistory();
    runs.push({ runId: info.runId, events: history.events?.length ?? 0, status: info.status.name });
  }
  t.diagnostic(`runs: ${runs.length}, events: ${runs.map((r) => r.events).join(', ')}`);
  assert.ok(runs.length >= 2, `the archive continued as new (${runs.length} run)`);
  for (const r of runs) assert.ok(r.events < MAX_EVENTS, `run ${r.runId}: ${r.events} events`);
  assert.equal(runs.filter((r) => r.status === 'COMPLETED').length, 1);
  assert.equal(runs.filter((r) => r.status === 'CONTINUED_AS_NEW').length, runs.length - 1);

  // Progress never goes back across runs, and the phase attribute ends at done.
  for (let i = 1; i < seen.length; i++) {
    for (const k of ['exported', 'verified', 'deleted'] as const) {
      assert.ok(seen[i]![k] >= seen[i - 1]![k], `${k} went back from ${seen[i - 1]![k]} to ${seen[i]![k]}`);
    }
    assert.equal(seen[i]!.batches, SERIES / PER_BATCH);
  }
  assert.ok(seen.some((p) => p.phase === 'delete' && p.deleted > 0 && p.deleted < SERIES / PER_BATCH));
  const final = await env.client.workflow.getHandle(workflowId).describe();
  assert.deepEqual(final.typedSearchAttributes.get(OffloadPhase), 'done');

  const manifest = MonthManifestSchema.parse(JSON.parse(await rt.store.getText(monthManifestKey(ref))));
  assert.equal(manifest.batches.length, SERIES / PER_BATCH);
  assert.equal(manifest.points, SERIES);

  // The month is gone from Warp 10; the point after it is still there for every series.
  const [left] = await rt.runner.run<[[number, number][]]>('smoke-read', {
    token: rt.tokens.read,
    class: cls,
  });
  assert.equal(left.length, SERIES);
  assert.ok(
    left.every(([ts]) => ts >= E),
    'no point of the month is left',
  );
  await rt.close();
});
