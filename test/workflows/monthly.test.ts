// The monthly run end to end: real Temporal dev server, real Warp 10, real archive store. The schedule
// is created and triggered; the previous month ends up archived and deleted for every dataset of both
// groups (configured ones, and ones discovered by label); `describe` shows the run. Skipped without
// Warp 10 (CI): the same orchestration runs there in monthly.unit-mock.test.ts and schedule.unit-mock.test.ts.
import { isListed } from '../../src/archive/catalog-store.ts';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { monthManifestKey } from '../../src/archive/layout.ts';
import { runScheduleCli } from '../../src/cli/schedule.ts';
import { startMonthly } from '../../src/client/monthly.ts';
import { addMonths, monthOf, monthRange, previousMonth } from '../../src/month.ts';
import { discoveredDatasetName } from '../../src/offload/discovery.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import type { MonthlyResult } from '../../src/workflows/monthly.ts';
import { testConfig } from '../support/config.ts';
import { toInputFormat, type SeedSeries } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle, type Warp10Stack } from '../support/stack.ts';
import { dumpClass } from '../support/points.ts';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

/** Every point of a class in Warp 10: [selector, ticks]. */
async function liveTicks(w: Warp10Stack, cls: string): Promise<[string, number[]][]> {
  return (await dumpClass(w, cls)).map(([sel, ticks]) => [sel, ticks]);
}

describe('monthly run (real Temporal, real Warp 10)', () => {
  test('the schedule, triggered, archives the previous month of every dataset of both groups', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const p = uniqueId('test.monthly').replace(/-/g, '.');
    const month = previousMonth(new Date(), 'UTC');
    const { startUs, endUs } = monthRange(month, 'UTC');
    const S = Number(startUs);
    const E = Number(endUs);
    const inMonth = [S, S + 1_000_000, E - 1];
    // A point after the month (the current month): it must stay.
    const series = (cls: string, labels: Record<string, string>, v: number): SeedSeries => ({
      cls,
      labels,
      points: [...inMonth.map((ts) => ({ ts, value: v })), { ts: E + 5, value: v + 1 }],
    });
    const seed = [
      series(`${p}.cpu`, { host: 'a' }, 1),
      series(`${p}.cpu`, { host: 'b' }, 2),
      series(`${p}.mem`, { host: 'a' }, 3),
      series(`${p}.client`, { owner: 'acme', app: 'web' }, 4),
      series(`${p}.client`, { owner: 'acme', app: 'api' }, 5),
      series(`${p}.client`, { owner: 'Globex Corp' }, 6),
    ];
    const taskQueue = uniqueId('monthly-e2e');
    // Group names end up in every workflow ID of the run: unique, so no other test's run is joined.
    const infra = uniqueId('infra');
    const clients = uniqueId('clients');
    const base = testConfig({
      groups: [
        {
          name: infra,
          mode: 'parallel',
          concurrency: 2,
          datasets: [
            { name: 'cpu', selector: { class: `${p}.cpu` } },
            { name: 'mem', selector: { class: `${p}.mem` } },
          ],
        },
        {
          name: clients,
          mode: 'sequential',
          discover: { selector: { class: `${p}.client` }, byLabel: 'owner', seriesPerBatch: 1 },
        },
      ],
    });
    const config = {
      ...base,
      temporal: { ...base.temporal, taskQueue },
      schedule: {
        id: uniqueId('test-schedule-e2e'),
        dayOfMonth: 1,
        hour: 0,
        minute: 30,
        catchupWindow: '3 days',
        pauseOnFailure: false,
      },
    };
    const rt = buildRuntime(config);
    await rt.client.update(rt.tokens.write, toInputFormat(seed));
    const worker = await createOffloadWorker({
      connection: env.nativeConnection,
      runtime: rt,
      taskQueue,
      workflowBundle: await workflowBundle(),
    });
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    const cli = (argv: string[]) => runScheduleCli(argv, io, { client: env.client, config });

    try {
      assert.equal(await cli(['create']), 0);
      const [result, again] = await worker.runUntil(async () => {
        assert.equal(await cli(['trigger']), 0);
        const id = /triggered: (\S+)/.exec(out.join('\n'))?.[1];
        assert.ok(id, out.join('\n'));
        const r = (await env.client.workflow.getHandle(id).result()) as MonthlyResult;
        // Running the month again: nothing to do.
        const run = await startMonthly(env.client, config, { month });
        const a = (await env.client.workflow.getHandle(run.workflowId, run.runId).result()) as MonthlyResult;
        // Small datasets archived in pages: the catalog lists their months too (queries find them).
        for (const [group, dataset] of [
          [infra, 'cpu'],
          [infra, 'mem'],
          [clients, 'acme'],
          [clients, discoveredDatasetName('Globex Corp')],
        ] as const) {
          const ref = { group, dataset, month };
          let listed = false;
          for (let i = 0; i < 100 && !listed; i++) {
            listed = await isListed(rt.store, ref);
            if (!listed) await new Promise((res) => setTimeout(res, 200));
          }
          assert.ok(listed, `${group}/${dataset} ${month} is in the catalog`);
        }
        return [r, a];
      });

      assert.equal(result.month, month);
      assert.equal(result.status, 'archived', result.summary);
      assert.equal(result.archived, 4);
      assert.equal(result.points, seed.length * inMonth.length);
      const globex = discoveredDatasetName('Globex Corp');
      assert.deepEqual(
        result.groups.map((g) => [g.group, g.result?.datasets.map((d) => [d.dataset, d.status])]),
        [
          [
            infra,
            [
              ['cpu', 'archived'],
              ['mem', 'archived'],
            ],
          ],
          [
            clients,
            // Discovered datasets in the order of their label values ('G' sorts before 'a').
            [
              [globex, 'archived'],
              ['acme', 'archived'],
            ],
          ],
        ],
      );
      // Every dataset's month manifest, with its points.
      const points: Record<string, number> = {};
      for (const [group, dataset] of [
        [infra, 'cpu'],
        [infra, 'mem'],
        [clients, 'acme'],
        [clients, globex],
      ] as const) {
        const m = JSON.parse(await rt.store.getText(monthManifestKey({ group, dataset, month })));
        points[dataset] = m.points;
      }
      assert.deepEqual(points, { cpu: 6, mem: 3, acme: 6, [globex]: 3 });
      // In Warp 10: nothing of the month left, the next month's points untouched.
      for (const cls of [`${p}.cpu`, `${p}.mem`, `${p}.client`]) {
        for (const [sel, ticks] of await liveTicks(w, cls)) assert.deepEqual(ticks, [E + 5], sel);
      }
      assert.equal(monthOf(new Date(E / 1000), 'UTC'), addMonths(month, 1));

      assert.equal(again.status, 'nothing-to-do');
      assert.equal(again.summary, `${month}: nothing to do, 4 of 4 dataset(s) already archived`);

      out.length = 0;
      assert.equal(await cli(['describe']), 0);
      const described = out.join('\n');
      assert.match(described, new RegExp(`COMPLETED {2}month ${month} {2}phase done`));
      assert.match(described, new RegExp(`${month}: 4 archived, 0 already archived, 0 failed`));
    } finally {
      await cli(['delete']);
      await rt.close();
    }
  });

  test('late data: points written into a committed month — the next monthly run rechecks it and archives them, 0 lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.recheck').replace(/-/g, '.');
    const older = '2026-08';
    const newer = '2026-09';
    const S = Number(monthRange(older, 'UTC').startUs);
    const N = Number(monthRange(newer, 'UTC').startUs);
    const group = uniqueId('infra');
    const taskQueue = uniqueId('monthly-recheck');
    const base = testConfig({
      groups: [{ name: group, datasets: [{ name: 'cpu', selector: { class: cls } }] }],
      lateData: { lateness: '0 minutes', recheckMonths: 1 },
    });
    const config = { ...base, temporal: { ...base.temporal, taskQueue } };
    const rt = buildRuntime(config);
    const at = (ts: number, value: number) => ({ ts, value });
    await rt.client.update(
      rt.tokens.write,
      toInputFormat([{ cls, labels: { host: 'a' }, points: [at(S + 1, 1), at(S + 2, 2), at(N + 1, 3)] }]),
    );
    const worker = await createOffloadWorker({
      connection: env.nativeConnection,
      runtime: rt,
      taskQueue,
      workflowBundle: await workflowBundle(),
    });
    const monthly = async (month: string) => {
      const run = await startMonthly(env.client, config, { month });
      return (await env.client.workflow.getHandle(run.workflowId, run.runId).result()) as MonthlyResult;
    };
    try {
      const [first, second] = await worker.runUntil(async () => {
        const a = await monthly(older);
        // Written after the older month was committed: a late point and a new series.
        await rt.client.update(
          rt.tokens.write,
          toInputFormat([
            { cls, labels: { host: 'a' }, points: [at(S + 3, 4)] },
            { cls, labels: { host: 'b' }, points: [at(S + 4, 5)] },
          ]),
        );
        return [a, await monthly(newer)];
      });
      assert.equal(first.status, 'archived', first.summary);
      assert.equal(first.points, 2);
      assert.equal(second.status, 'archived', second.summary);
      assert.equal(second.points, 1);
      assert.deepEqual(second.rechecked, [{ month: older, archived: 1, points: 2, failed: 0 }]);
      assert.match(second.summary, new RegExp(`late data: ${older} 2 point\\(s\\) in 1 dataset`));
      const m = JSON.parse(await rt.store.getText(monthManifestKey({ group, dataset: 'cpu', month: older })));
      assert.equal(m.points, 4, 'the older month counts its late points');
      assert.equal(m.revision, 2);
      for (const [sel, ticks] of await liveTicks(w, cls)) assert.deepEqual(ticks, [], sel);
    } finally {
      await rt.close();
    }
  });
});
