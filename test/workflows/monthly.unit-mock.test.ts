// UNIT TESTS with MOCKED Warp 10 activities: the monthly orchestration (monthlyOffload → groupOffload →
// archive) runs for real on the Temporal dev server, but the archive's Warp 10 and store activities are
// in-memory stubs (test/support/monthly-stubs.ts), so these run in CI where there is no Warp 10.
// The end-to-end run against the real Warp 10 is in monthly.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { archiveWorkflowId } from '../../src/archive/layout.ts';
import { startMonthly } from '../../src/client/monthly.ts';
import { groupWorkflowId } from '../../src/offload/ids.ts';
import { OffloadMonth, OffloadPhase } from '../../src/search-attributes.ts';
import type { MonthlyResult } from '../../src/workflows/monthly.ts';
import type { OffloadProgress } from '../../src/workflows/progress.ts';
import { stubWorld, uniqueGroup } from '../support/monthly-stubs.ts';
import { temporalEnv, workflowBundle } from '../support/stack.ts';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

const datasets = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    name: `${prefix}${i + 1}`,
    selector: { class: `${prefix}.${i + 1}` },
  }));

const MONTH = '2026-01';

describe('monthlyOffload (unit, mocked Warp 10 activities)', () => {
  test('groups run in order; parallel stays within its concurrency, sequential runs one at a time', async () => {
    const infra = uniqueGroup('infra');
    const clients = uniqueGroup('clients');
    const w = await stubWorld(env, {
      groups: [
        { name: infra, mode: 'parallel', concurrency: 3, datasets: datasets('os', 8) },
        { name: clients, mode: 'sequential', datasets: datasets('client', 4) },
      ],
      stubs: { delayMs: 80, points: 7 },
    });
    const progress: OffloadProgress[] = [];
    const result = await w.worker.runUntil(async () => {
      const run = await startMonthly(env.client, w.config, { month: MONTH });
      assert.equal(run.workflowId, `offload/${MONTH}`);
      const handle = env.client.workflow.getHandle(run.workflowId, run.runId);
      const done = handle.result() as Promise<MonthlyResult>;
      // Progress while it runs.
      for (let i = 0; i < 100; i++) {
        const p = await handle.query<OffloadProgress>('offloadProgress').catch(() => undefined);
        if (p) progress.push(p);
        if (p && p.archived >= 4) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const r = await done;
      const d = await handle.describe();
      assert.equal(d.typedSearchAttributes.get(OffloadMonth), MONTH);
      assert.equal(d.typedSearchAttributes.get(OffloadPhase), 'done');
      return r;
    });

    assert.equal(result.status, 'archived');
    assert.equal(result.archived, 12);
    assert.equal(result.points, 12 * 7);
    assert.deepEqual(
      result.groups.map((g) => [g.group, g.status, g.result?.archived]),
      [
        [infra, 'done', 8],
        [clients, 'done', 4],
      ],
    );
    assert.deepEqual(
      result.groups[0]?.result?.datasets.map((d) => [d.dataset, d.status, d.workflowId]),
      datasets('os', 8).map((d) => [
        d.name,
        'archived',
        archiveWorkflowId({ group: infra, dataset: d.name, month: MONTH }),
      ]),
    );
    assert.match(result.summary, /12 archived, 0 already archived, 0 failed/);

    // Concurrency, measured as archive activities in flight at once per group.
    const maxInfra = w.stubs.maxInFlight.get(infra) ?? 0;
    assert.ok(maxInfra <= 3, `parallel group had ${maxInfra} datasets in flight, limit 3`);
    assert.ok(maxInfra >= 2, `parallel group never ran datasets in parallel (max ${maxInfra})`);
    assert.equal(w.stubs.maxInFlight.get(clients), 1);
    // Groups in configured order: the second starts after the first is done.
    const lastInfra = Math.max(...w.stubs.calls.filter((c) => c.group === infra).map((c) => c.end ?? 0));
    const firstClients = Math.min(...w.stubs.calls.filter((c) => c.group === clients).map((c) => c.start));
    assert.ok(lastInfra <= firstClients, 'the second group started before the first ended');

    const mid = progress.find((p) => p.archived > 0 && (p.pending ?? 0) > 0);
    assert.ok(mid, `no progress seen mid-run: ${JSON.stringify(progress.at(-1))}`);
    assert.equal(mid.month, MONTH);
    assert.equal(mid.groups?.length, 2);
    assert.equal(mid.total, 12);
    assert.ok(mid.points > 0, 'points archived so far');
  });

  test('one dataset failing: the others finish, the result lists it, its failure workflow ran; the summary is sent', async () => {
    const infra = uniqueGroup('infra');
    const clients = uniqueGroup('clients');
    const w = await stubWorld(env, {
      groups: [
        { name: infra, mode: 'parallel', concurrency: 2, datasets: datasets('ds', 4) },
        { name: clients, mode: 'sequential', datasets: datasets('c', 2) },
      ],
      stubs: {
        failExport: (r) => (r.dataset === 'ds2' ? 'line 3: something went wrong in WarpScript' : undefined),
      },
      slack: { webhookUrl: { env: 'UNUSED_TEST_WEBHOOK' }, successSummary: { enabled: true } },
    });
    const result = await w.worker.runUntil(async () => {
      const run = await startMonthly(env.client, w.config, { month: MONTH });
      const r = (await env.client.workflow.getHandle(run.workflowId).result()) as MonthlyResult;
      // The failure workflow started by the failed archive run has compensated and notified.
      const failed = r.groups[0]?.result?.datasets.find((d) => d.status === 'failed');
      assert.ok(failed?.failureWorkflowId, 'the failed dataset names its failure workflow');
      await env.client.workflow.getHandle(failed.failureWorkflowId).result();
      return r;
    });

    // Determinism: the monthly, group and failed archive histories replay against the same bundle.
    const bundle = await workflowBundle();
    for (const id of [
      `offload/${MONTH}`,
      groupWorkflowId(MONTH, infra),
      archiveWorkflowId({ group: infra, dataset: 'ds2', month: MONTH }),
    ]) {
      const history = await env.client.workflow.getHandle(id).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: bundle, replayName: id }, history);
    }

    assert.equal(result.status, 'completed-with-failures');
    assert.equal(result.archived, 5);
    assert.equal(result.failed, 1);
    const failed = result.groups[0]?.result?.datasets.find((d) => d.status === 'failed');
    const ref = { group: infra, dataset: 'ds2', month: MONTH };
    assert.equal(failed?.dataset, 'ds2');
    assert.equal(failed?.workflowId, archiveWorkflowId(ref));
    assert.match(failed?.reason ?? '', /^WarpScriptError: line 3: something went wrong/);
    assert.match(failed?.failureWorkflowId ?? '', /^archive-failure\/.*\/ds2\/2026-01\//);
    assert.deepEqual(result.groups[1]?.result?.archived, 2);
    assert.deepEqual(
      w.stubs.failures.map((f) => [f.activity, (f.input as { dataset: string }).dataset]),
      [
        ['compensateFailure', 'ds2'],
        ['notifyFailure', 'ds2'],
      ],
    );
    // The month's summary: counts and the failed dataset with its workflow ID.
    assert.equal(w.stubs.summaries.length, 1);
    const summary = w.stubs.summaries[0] as {
      month: string;
      archived: number;
      failed: { dataset: string }[];
    };
    assert.equal(summary.month, MONTH);
    assert.equal(summary.archived, 5);
    assert.deepEqual(
      summary.failed.map((f) => f.dataset),
      ['ds2'],
    );
  });

  test('a failing group does not stop the next one', async () => {
    const clients = uniqueGroup('clients');
    const infra = uniqueGroup('infra');
    const w = await stubWorld(env, {
      groups: [
        // Discovery fails for this group (a WarpScript error: not retried).
        {
          name: clients,
          mode: 'parallel',
          discover: { selector: { class: 'boom' }, byLabel: 'owner' },
        },
        { name: infra, mode: 'sequential', datasets: datasets('ds', 2) },
      ],
      discovery: {
        boom: ApplicationFailure.create({
          type: 'WarpScriptError',
          message: 'discovery failed: Exception at line 1',
          nonRetryable: true,
        }),
      },
    });
    const result = await w.worker.runUntil(async () => {
      const run = await startMonthly(env.client, w.config, { month: MONTH });
      return (await env.client.workflow.getHandle(run.workflowId).result()) as MonthlyResult;
    });
    assert.equal(result.status, 'completed-with-failures');
    assert.equal(result.failedGroups, 1);
    assert.equal(result.groups[0]?.status, 'failed');
    assert.equal(result.groups[0]?.workflowId, groupWorkflowId(MONTH, clients));
    assert.match(result.groups[0]?.reason ?? '', /WarpScriptError: .*discovery failed/);
    assert.equal(result.groups[1]?.status, 'done');
    assert.equal(result.groups[1]?.result?.archived, 2);
  });

  test('re-running an archived month only rechecks it for late data, changes nothing and says so', async () => {
    const infra = uniqueGroup('infra');
    const w = await stubWorld(env, {
      groups: [{ name: infra, mode: 'parallel', concurrency: 4, datasets: datasets('ds', 3) }],
      slack: { webhookUrl: { env: 'UNUSED_TEST_WEBHOOK' }, successSummary: { enabled: true } },
    });
    const [first, again] = await w.worker.runUntil(async () => {
      const r1 = await startMonthly(env.client, w.config, { month: MONTH });
      const a = (await env.client.workflow.getHandle(r1.workflowId).result()) as MonthlyResult;
      const r2 = await startMonthly(env.client, w.config, { month: MONTH });
      assert.equal(r2.workflowId, r1.workflowId);
      assert.notEqual(r2.runId, r1.runId);
      const b = (await env.client.workflow.getHandle(r2.workflowId, r2.runId).result()) as MonthlyResult;
      return [a, b];
    });
    assert.equal(first.archived, 3);
    assert.equal(again.status, 'nothing-to-do');
    assert.equal(again.archived, 0);
    assert.equal(again.skipped, 3);
    assert.equal(again.summary, `${MONTH}: nothing to do, 3 of 3 dataset(s) already archived`);
    for (const d of again.groups[0]?.result?.datasets ?? []) {
      assert.equal(d.status, 'skipped');
      assert.match(d.reason ?? '', /already archived/);
    }
    assert.equal(w.stubs.calls.filter((c) => c.activity === 'commitMonth').length, 3);
    // The rerun starts each dataset's archive, which finds the month committed and no late series:
    // one plan per dataset, nothing exported, deleted or committed again.
    assert.equal(w.stubs.calls.filter((c) => c.activity === 'planMonth').length, 6);
    assert.equal(w.stubs.calls.filter((c) => c.activity === 'exportBatch').length, 3);
    assert.equal(w.stubs.summaries.length, 1, 'no summary for a month with nothing to do');
  });

  test('a dataset whose archive is already running is awaited, not started twice', async () => {
    const infra = uniqueGroup('infra');
    const w = await stubWorld(env, {
      groups: [{ name: infra, mode: 'parallel', concurrency: 4, datasets: datasets('ds', 3) }],
      stubs: { delayMs: (r) => (r.dataset === 'ds2' ? 400 : 10) },
    });
    const result = await w.worker.runUntil(async () => {
      const ref = { group: infra, dataset: 'ds2', month: MONTH };
      // As `npm run start-archive -- --dataset ds2` would have.
      const byHand = await env.client.workflow.start('archive', {
        taskQueue: w.taskQueue,
        workflowId: archiveWorkflowId(ref),
        args: [ref],
      });
      const run = await startMonthly(env.client, w.config, { month: MONTH });
      const r = (await env.client.workflow.getHandle(run.workflowId).result()) as MonthlyResult;
      assert.equal((await byHand.result()).status, 'archived');
      return r;
    });
    assert.equal(result.archived, 3);
    const plans = w.stubs.calls.filter((c) => c.activity === 'planMonth' && c.dataset === 'ds2');
    assert.equal(plans.length, 1, 'ds2 was archived once');
  });

  test('two runs of the same month at once (schedule and backfill): each group and dataset runs once', async () => {
    const infra = uniqueGroup('infra');
    const w = await stubWorld(env, {
      groups: [{ name: infra, mode: 'parallel', concurrency: 2, datasets: datasets('ds', 4) }],
      stubs: { delayMs: 100 },
    });
    const [a, b] = await w.worker.runUntil(async () => {
      const first = await startMonthly(env.client, w.config, { month: MONTH });
      while (w.stubs.calls.length === 0) await new Promise((r) => setTimeout(r, 20));
      // As the Schedule would start it: another workflow ID, the same month.
      const second = await env.client.workflow.start('monthlyOffload', {
        taskQueue: w.taskQueue,
        workflowId: `offload/scheduled/${infra}`,
        args: [{ month: MONTH }],
      });
      return Promise.all([
        env.client.workflow.getHandle(first.workflowId).result() as Promise<MonthlyResult>,
        second.result() as Promise<MonthlyResult>,
      ]);
    });
    assert.equal(a.archived, 4);
    assert.deepEqual(
      b.groups[0]?.result,
      a.groups[0]?.result,
      'the second run reports the group run it waited for',
    );
    assert.equal(w.stubs.calls.filter((c) => c.activity === 'commitMonth').length, 4);
    assert.equal(w.stubs.calls.filter((c) => c.activity === 'planMonth').length, 4);
  });

  test('cancelling the monthly run cancels its group and archives; none is left running', async () => {
    const infra = uniqueGroup('infra');
    const w = await stubWorld(env, {
      groups: [{ name: infra, mode: 'parallel', concurrency: 2, datasets: datasets('ds', 6) }],
      stubs: { delayMs: 1_500 },
    });
    await w.worker.runUntil(async () => {
      const run = await startMonthly(env.client, w.config, { month: MONTH });
      const handle = env.client.workflow.getHandle(run.workflowId);
      while (w.stubs.calls.length < 2) await new Promise((r) => setTimeout(r, 50));
      await handle.cancel();
      const err = await handle.result().then(
        () => assert.fail('the cancelled run completed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.ok(err.cause instanceof CancelledFailure, String(err.cause));

      const group = await env.client.workflow.getHandle(groupWorkflowId(MONTH, infra)).describe();
      assert.equal(group.status.name, 'CANCELLED');
      const started = [...new Set(w.stubs.calls.map((c) => c.dataset))];
      assert.ok(started.length >= 1 && started.length <= 2, `${started.length} datasets started`);
      for (const dataset of started) {
        const d = await env.client.workflow
          .getHandle(archiveWorkflowId({ group: infra, dataset, month: MONTH }))
          .describe();
        assert.equal(d.status.name, 'CANCELLED', `${dataset} is ${d.status.name}`);
      }
    });
    // Nothing started after the cancellation.
    assert.ok(
      w.stubs.calls.every((c) => c.activity === 'planMonth'),
      'no archive went past its plan',
    );
  });

  test('late data: a month inside its lateness — the monthly run waits (phase settling), archiving nothing; --ignore-lateness starts at once', async () => {
    const infra = uniqueGroup('infra');
    // 2026-01 ended long ago; a lateness of 4,000 days keeps it settling for years.
    const w = await stubWorld(env, {
      groups: [{ name: infra, datasets: datasets('ds', 2) }],
      lateData: { lateness: '4000 days', recheckMonths: 0 },
    });
    await w.worker.runUntil(async () => {
      const run = await startMonthly(env.client, w.config, { month: MONTH, groups: [infra] });
      const handle = env.client.workflow.getHandle(run.workflowId, run.runId);
      let phase: unknown;
      for (let i = 0; i < 100 && phase !== 'settling'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        phase = (await handle.describe()).typedSearchAttributes.get(OffloadPhase);
      }
      assert.equal(phase, 'settling');
      await handle.terminate('test over');
      assert.equal(w.stubs.calls.length, 0, 'nothing planned, exported or deleted while settling');
      const now = await startMonthly(env.client, w.config, {
        month: MONTH,
        groups: [infra],
        ignoreLateness: true,
      });
      const r = (await env.client.workflow.getHandle(now.workflowId, now.runId).result()) as MonthlyResult;
      assert.equal(r.archived, 2, r.summary);
    });
  });

  test('a dry run archives nothing and uses its own workflow IDs', async () => {
    const infra = uniqueGroup('infra');
    const w = await stubWorld(env, {
      groups: [{ name: infra, mode: 'parallel', concurrency: 2, datasets: datasets('ds', 2) }],
    });
    const result = await w.worker.runUntil(async () => {
      const run = await startMonthly(env.client, w.config, { month: MONTH, dryRun: true });
      assert.equal(run.workflowId, `offload/${MONTH}/dry-run`);
      return (await env.client.workflow.getHandle(run.workflowId).result()) as MonthlyResult;
    });
    assert.equal(result.status, 'dry-run');
    assert.equal(result.dryRunDatasets, 2);
    assert.equal(result.archived, 0);
    assert.ok(
      result.groups[0]?.result?.datasets.every((d) => d.workflowId.endsWith('/dry-run')),
      'dry-run IDs',
    );
    assert.equal(w.stubs.calls.filter((c) => c.activity !== 'planMonth').length, 0);
  });

  test('an invalid month or group fails the run at once, with a reason', async () => {
    const infra = uniqueGroup('infra');
    const w = await stubWorld(env, {
      groups: [{ name: infra, datasets: datasets('ds', 1) }],
    });
    await w.worker.runUntil(async () => {
      for (const [input, pattern] of [
        [{ month: '2026-13' }, /the month must be between 01 and 12/],
        [{ month: '2999-01' }, /in the future/],
        [{ month: MONTH, groups: ['nope'] }, /No group "nope"/],
      ] as const) {
        const err = await env.client.workflow
          .execute('monthlyOffload', {
            taskQueue: w.taskQueue,
            workflowId: `${uniqueGroup('invalid')}`,
            args: [input],
          })
          .then(
            () => assert.fail('an invalid run completed'),
            (e: unknown) => e,
          );
        assert.ok(err instanceof WorkflowFailedError, String(err));
        const cause = err.cause?.cause;
        assert.ok(cause instanceof ApplicationFailure, String(cause));
        assert.match(cause.message, pattern);
      }
    });
  });
});
