// Scale-out: two worker processes on one task queue run a multi-dataset month together; one is killed
// (SIGKILL) midway. Every dataset is archived exactly once — one archive run, one manifest and one
// object per batch each, every point in the store and none left in Warp 10 — and nothing is lost.
// (The 2-workers-vs-1 speed-up is measured by `npm run bench -- scale-out`, not asserted here.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startMonthly } from '../../src/client/monthly.ts';
import { monthRange } from '../../src/month.ts';
import { buildStore } from '../../src/worker/runtime.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import type { MonthlyResult } from '../../src/workflows/monthly.ts';
import { writeConfigFile } from '../support/config.ts';
import { toInputFormat } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip } from '../support/stack.ts';
import { exited, startWorkerProcess, waitForOutput } from '../support/worker-process.ts';

const MONTH = '2025-05';
const S = Number(monthRange(MONTH, 'UTC').startUs);
const DATASETS = 6;
const SERIES = 8;
const POINTS = 1_500;
const PER_BATCH = 2;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

describe('scale-out', () => {
  test('fault: one of two workers SIGKILLed midway through a 6-dataset month — every dataset archived exactly once, nothing lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const group = uniqueId('scale');
    const prefix = group.replace(/-/g, '.');
    const datasets = Array.from({ length: DATASETS }, (_, i) => ({
      name: `ds${i}`,
      cls: `${prefix}.ds${i}`,
    }));
    const taskQueue = uniqueId('scale-out');
    const { file, config } = writeConfigFile({
      warp10Url: w.url,
      taskQueue,
      dataset: 'unused',
      cls: 'unused',
      seriesPerBatch: PER_BATCH,
      extra: {
        logging: { format: 'json', level: 'info' },
        groups: [
          {
            name: group,
            mode: 'parallel',
            concurrency: DATASETS,
            datasets: datasets.map((d) => ({
              name: d.name,
              selector: { class: d.cls },
              seriesPerBatch: PER_BATCH,
            })),
          },
        ],
      },
    });
    const c = new Warp10Client({ url: w.url });
    for (const d of datasets) {
      const series = Array.from({ length: SERIES }, (_, i) => ({
        cls: d.cls,
        labels: { host: `h${i}` },
        points: Array.from({ length: POINTS }, (_, p) => ({ ts: S + p * 1_000_000, value: p + i })),
      }));
      await c.update(w.writeToken, toInputFormat(series));
    }

    const a = startWorkerProcess(file, w);
    const b = startWorkerProcess(file, w);
    try {
      await waitForOutput(a, /worker on task queue/);
      await waitForOutput(b, /worker on task queue/);
      const run = await startMonthly(env.client, config, { month: MONTH, groups: [group] });
      // Kill one worker once the month is well under way (some batches exported, not all).
      const store = buildStore(config);
      const total = DATASETS * (SERIES / PER_BATCH);
      const deadline = Date.now() + 180_000;
      let exported = 0;
      while (Date.now() < deadline) {
        exported = (await store.list(`${group}/`)).filter((o) => o.key.endsWith('.wrap.gz')).length;
        if (exported >= 4) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(exported >= 4 && exported < total, `killed midway (${exported}/${total} batches exported)`);
      a.kill('SIGKILL');
      assert.equal((await exited(a)).signal, 'SIGKILL');

      const result = (await env.client.workflow
        .getHandle(run.workflowId, run.runId)
        .result()) as MonthlyResult;
      assert.equal(result.status, 'archived', JSON.stringify(result));
      assert.equal(result.archived, DATASETS);
      assert.equal(result.failed, 0);

      // Exactly once: one archive run per dataset, one manifest, one object and one manifest per batch.
      const keys = (await store.list(`${group}/`)).map((o) => o.key);
      await store.close();
      assert.equal(new Set(keys).size, keys.length);
      assert.equal(keys.filter((k) => k.includes('tmp')).length, 0, 'no temporary file left');
      for (const d of datasets) {
        const mine = keys.filter((k) => k.startsWith(`${group}/${d.name}/${MONTH}/`));
        assert.equal(mine.filter((k) => k.endsWith('/manifest.json')).length, 1, `${d.name}: one manifest`);
        assert.equal(
          mine.filter((k) => k.endsWith('.wrap.gz')).length,
          SERIES / PER_BATCH,
          `${d.name}: objects`,
        );
        assert.equal(mine.filter((k) => k.endsWith('failure.json')).length, 0, `${d.name}: no failure`);
      }
      const runs: string[] = [];
      for await (const x of env.client.workflow.list({
        query: `WorkflowType = 'archive' AND OffloadGroup = '${group}'`,
      })) {
        runs.push(`${x.workflowId} ${x.status.name}`);
      }
      assert.equal(runs.length, DATASETS, `one archive run per dataset:\n${runs.join('\n')}`);
      assert.ok(
        runs.every((r) => r.endsWith('COMPLETED')),
        runs.join('\n'),
      );

      // Nothing lost: every point is in a manifest, none is left in Warp 10 for the month.
      assert.equal(result.points, DATASETS * SERIES * POINTS);
      for (const d of datasets) {
        const end = Number(monthRange(MONTH, 'UTC').endUs) - 1;
        const reply: { stack: [number] } = await c.exec<[number]>(
          `{ 'token' '${w.readToken}' 'class' '${d.cls}' 'labels' {} 'start' ${S} 'end' ${end} } FETCH 0 SWAP <% SIZE + %> FOREACH`,
          { name: 'count' },
        );
        const left = reply.stack[0];
        assert.equal(left, 0, `${d.name}: nothing left in Warp 10`);
      }
    } finally {
      await c.close();
      for (const x of [a, b]) {
        if (x.exitCode === null && x.signalCode === null) x.kill('SIGTERM');
        await exited(x);
      }
    }
  });
});
