// UNIT TEST with MOCKED Warp 10 activities: a fan-out over 2,000 discovered datasets (the reference's
// one subflow per customer) through the real monthly and group workflows on the Temporal dev server.
// Discovery answers from a stub WarpScript runner and the archive's Warp 10 and store activities are
// in-memory stubs (test/support/monthly-stubs.ts), so this runs in CI without Warp 10. It prints the
// numbers the issue asks for: time per dataset, the largest workflow history, the worker's peak RSS.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startMonthly } from '../../src/client/monthly.ts';
import { DATASET_NAME } from '../../src/offload/discovery.ts';
import { groupWorkflowId } from '../../src/offload/ids.ts';
import type { MonthlyResult } from '../../src/workflows/monthly.ts';
import { chainHistoryLengths, stubWorld, uniqueGroup } from '../support/monthly-stubs.ts';
import { temporalEnv } from '../support/stack.ts';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

const MONTH = '2025-06';
const N = Number(process.env.FANOUT_N ?? 2_000);
const CONCURRENCY = Number(process.env.FANOUT_CONCURRENCY ?? 32);

describe('group fan-out (unit, mocked Warp 10 activities)', () => {
  test(`${N} discovered datasets: all archived, every history bounded, memory bounded`, async () => {
    const clients = uniqueGroup('clients');
    const cls = 'client.http.requests';
    // Owner label values as customers write them: mixed case, spaces, accents, a few clashing.
    const owners = Array.from({ length: N }, (_, i) =>
      i % 10 === 0 ? `Customer ${i} Ltd` : i % 10 === 1 ? `société-${i}` : `customer-${i}`,
    );
    const w = await stubWorld(env, {
      groups: [
        {
          name: clients,
          mode: 'parallel',
          concurrency: CONCURRENCY,
          discover: { selector: { class: cls }, byLabel: 'owner', seriesPerBatch: 100 },
        },
      ],
      discovery: { [cls]: owners },
      // Tiny or empty: most datasets have nothing in the month, one in ten a single batch.
      stubs: { batches: (r) => (r.dataset.endsWith('0') ? 1 : 0), points: 3 },
    });

    const baseRss = process.memoryUsage().rss;
    let peakRss = baseRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 100);
    const started = Date.now();
    let result: MonthlyResult;
    try {
      result = await w.worker.runUntil(async () => {
        const run = await startMonthly(env.client, w.config, { month: MONTH });
        return (await env.client.workflow.getHandle(run.workflowId).result()) as MonthlyResult;
      });
    } finally {
      clearInterval(sampler);
    }
    const elapsed = Date.now() - started;

    const group = result.groups[0]?.result;
    assert.ok(group, result.groups[0]?.reason);
    assert.equal(group.total, N);
    assert.equal(group.discovered, N);
    assert.equal(group.archived, N);
    assert.equal(group.failed, 0);
    // A run starts datasets until its history passes RUN_EVENTS (each dataset here runs its own archive
    // workflow: ~10 events in the group's history), then continues as new.
    assert.ok(group.runs > 1, `${group.runs} runs`);
    // Bounded result: the first MAX_LISTED by name, the rest counted.
    assert.equal(group.datasets.length + group.notListed, N);
    assert.ok(
      group.datasets.every((d) => DATASET_NAME.test(d.dataset)),
      'valid dataset names',
    );
    // Every dataset archived once, under a distinct valid name.
    const committed = w.stubs.calls.filter((c) => c.activity === 'commitMonth').map((c) => c.dataset);
    assert.equal(new Set(committed).size, N);
    const withData = w.stubs.calls.filter((c) => c.activity === 'exportBatch').length;
    assert.equal(group.points, withData * 3);

    const monthlyLen =
      (await env.client.workflow.getHandle(`offload/${MONTH}`).fetchHistory()).events?.length ?? 0;
    const groupLens = await chainHistoryLengths(env.client, groupWorkflowId(MONTH, clients));
    assert.equal(groupLens.length, group.runs);
    const largest = Math.max(monthlyLen, ...groupLens);
    assert.ok(largest < 10_000, `a history reached ${largest} events`);

    console.log(
      `fan-out over ${N} discovered datasets (concurrency ${CONCURRENCY}, ${group.runs} group runs): ` +
        `${(elapsed / 1000).toFixed(1)} s, ${(elapsed / N).toFixed(1)} ms per dataset; ` +
        `largest history ${largest} events (monthly ${monthlyLen}, group runs ${groupLens.join('/')}); ` +
        `worker peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (${(baseRss / 2 ** 20).toFixed(0)} MiB before the run)`,
    );
  });
});
