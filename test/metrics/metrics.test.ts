// The worker's Prometheus endpoint, scraped as Prometheus would: after an archive the offloader's
// counters moved by exactly the archived amounts, batch durations are recorded per phase, the Warp 10
// requests are timed, the Temporal SDK's own metrics are served on the same port, and /healthz answers.
// The worker runs as a process with JSON logs: every line it printed is one JSON object.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { archiveWorkflowId } from '../../src/archive/layout.ts';
import { monthRange } from '../../src/month.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import type { RestoreResult } from '../../src/workflows/restore.ts';
import type { ArchiveResult } from '../../src/workflows/archive.ts';
import { writeConfigFile } from '../support/config.ts';
import { toInputFormat } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip } from '../support/stack.ts';
import { exited, startWorkerProcess, waitForOutput } from '../support/worker-process.ts';

const MONTH = '2025-09';
const S = Number(monthRange(MONTH, 'UTC').startUs);

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

const DASHBOARD = path.resolve(import.meta.dirname, '..', '..', 'grafana', 'offloader-dashboard.json');

/** Every metric family the Grafana dashboard queries (histogram series reduced to their family). */
export function dashboardMetrics(): string[] {
  const text = readFileSync(DASHBOARD, 'utf8');
  const names = [...text.matchAll(/\b((?:offloader|temporal)_[a-z0-9_]+)/g)].map((m) => m[1] ?? '');
  return [...new Set(names.map((n) => n.replace(/_(bucket|count|sum)$/, '')))].sort();
}

/** `name{labels} value` lines of a text exposition, as a lookup. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]] as [string, string]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('worker metrics (Prometheus) and logs (JSON)', () => {
  test('a scrape after an archive shows the archived amounts, phases, Warp 10 latency and SDK metrics', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.metrics').replace(/-/g, '.');
    const taskQueue = uniqueId('metrics');
    const { file } = writeConfigFile({
      warp10Url: w.url,
      taskQueue,
      dataset: 'metered',
      cls,
      seriesPerBatch: 3,
      extra: { metrics: { port: 0 }, logging: { format: 'json' } },
      datasets: [{ name: 'small', cls: `${cls}.small` }],
    });
    const c = new Warp10Client({ url: w.url });
    const series = Array.from({ length: 10 }, (_, i) => ({
      cls,
      labels: { host: `h${i}` },
      points: Array.from({ length: 250 }, (_, p) => ({ ts: S + p * 10_000_000, value: p * i })),
    }));
    // A small dataset (2 series x 4 points: one batch), archived later by the group in a page.
    const small = Array.from({ length: 2 }, (_, i) => ({
      cls: `${cls}.small`,
      labels: { host: `h${i}` },
      points: Array.from({ length: 4 }, (_, p) => ({ ts: S + p * 10_000_000, value: p })),
    }));
    await c.update(w.writeToken, toInputFormat([...series, ...small]));
    await c.close();

    const worker = startWorkerProcess(file, w, { LOG_FORMAT: '', LOG_LEVEL: 'debug' });
    try {
      const [, base] = await waitForOutput(worker, /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/);
      await waitForOutput(worker, /worker on task queue/);
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200, 'healthy while the worker runs');

      const before = await (await fetch(`${base}/metrics`)).text();
      const ref = { group: 'infra', dataset: 'metered', month: MONTH };
      const labels = { group: 'infra', dataset: 'metered' };
      assert.equal(sample(before, 'offloader_archived_points_total', labels), undefined);

      const result = (await env.client.workflow.execute('archive', {
        taskQueue,
        workflowId: `${archiveWorkflowId(ref)}-${taskQueue}`,
        args: [ref],
      })) as ArchiveResult;
      assert.equal(result.status, 'archived');
      assert.equal(result.points, 2_500);

      const res = await fetch(`${base}/metrics`);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      const text = await res.text();
      assert.equal(sample(text, 'offloader_archived_points_total', labels), 2_500);
      assert.equal(sample(text, 'offloader_archived_series_total', labels), 10);
      assert.equal(sample(text, 'offloader_archived_bytes_total', labels), result.bytes);
      assert.equal(sample(text, 'offloader_archived_months_total', labels), 1);
      assert.equal(sample(text, 'offloader_exported_points_total', labels), 2_500);
      assert.equal(sample(text, 'offloader_deleted_points_total', labels), 2_500);
      // 10 series in batches of 3: 4 batches per phase.
      for (const [phase, n] of [
        ['plan', 1],
        ['export', 4],
        ['verify', 4],
        ['delete', 4],
        ['commit', 1],
      ] as const) {
        assert.equal(
          sample(text, 'offloader_activity_duration_seconds_count', { phase, outcome: 'ok' }),
          n,
          `${phase}: ${n} activities timed`,
        );
      }
      assert.ok(
        (sample(text, 'offloader_warp10_request_duration_seconds_count', {
          script: 'archive-delete',
          outcome: 'ok',
        }) ?? 0) >= 4,
      );
      assert.ok(
        (sample(text, 'offloader_warp10_request_duration_seconds_count', {
          script: 'archive-plan',
          outcome: 'ok',
        }) ?? 0) >= 1,
      );
      assert.equal(sample(text, 'offloader_activity_failures_total'), undefined, 'no failure');
      // The SDK runtime's own metrics, on the same scrape.
      assert.match(text, /^temporal_activity_execution_latency/m);
      assert.match(text, /^temporal_worker_task_slots_available/m);
      // Every metric the Grafana dashboard graphs is served (a renamed metric would leave a panel empty).
      const families = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
      const missing = dashboardMetrics().filter((n) => !families.has(n));
      assert.deepEqual(missing, [], `dashboard metrics not served: ${missing.join(', ')}`);
      // Node process metrics.
      assert.match(text, /^offloader_process_cpu_seconds_total/m);

      // The group run: `metered` is archived already (skipped), `small` is archived by a page activity,
      // whose amounts are counted under the small dataset's labels.
      const group = (await env.client.workflow.execute('groupOffload', {
        taskQueue,
        workflowId: `offload-group/${MONTH}/infra-${taskQueue}`,
        args: [{ month: MONTH, group: { name: 'infra', mode: 'parallel', concurrency: 2 } }],
      })) as { archived: number; skipped: number };
      assert.deepEqual([group.archived, group.skipped], [1, 1]);
      const after = await (await fetch(`${base}/metrics`)).text();
      const paged = { group: 'infra', dataset: 'small' };
      for (const name of ['archived_points', 'exported_points', 'deleted_points']) {
        assert.equal(sample(after, `offloader_${name}_total`, paged), 8, name);
      }
      assert.equal(sample(after, 'offloader_archived_series_total', paged), 2);
      assert.equal(sample(after, 'offloader_archived_months_total', paged), 1);
      assert.equal(sample(after, 'offloader_archived_points_total', labels), 2_500, 'metered unchanged');
      // Two datasets, two lanes: a page each.
      assert.equal(
        sample(after, 'offloader_activity_duration_seconds_count', { phase: 'page', outcome: 'ok' }),
        2,
      );

      // A restore of the archived month: its amounts and its phases.
      const restored = (await env.client.workflow.execute('restore', {
        taskQueue,
        workflowId: `restore-metrics-${taskQueue}`,
        args: [ref],
      })) as RestoreResult;
      assert.deepEqual([restored.status, restored.points], ['restored', 2_500]);
      const r = await (await fetch(`${base}/metrics`)).text();
      assert.equal(sample(r, 'offloader_restored_points_total', labels), 2_500);
      assert.equal(sample(r, 'offloader_restored_series_total', labels), 10);
      assert.equal(sample(r, 'offloader_restore_read_bytes_total', labels), result.bytes);
      for (const [phase, n] of [
        ['restore-plan', 1],
        ['restore-check', 4],
        ['restore-write', 4],
      ] as const) {
        assert.equal(
          sample(r, 'offloader_activity_duration_seconds_count', { phase, outcome: 'ok' }),
          n,
          phase,
        );
      }
    } finally {
      worker.kill('SIGTERM');
      await exited(worker);
    }

    // Logs: one JSON object per line, with the run's context, and nothing but JSON on stdout.
    const lines = worker
      .stdout_()
      .split('\n')
      .filter((l) => l.trim().length > 0);
    assert.ok(lines.length >= 3, worker.output());
    const records = lines.map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        assert.fail(`not a JSON line: ${l}`);
      }
    });
    for (const r of records) {
      assert.equal(typeof r.time, 'string');
      assert.equal(typeof r.level, 'string');
      assert.equal(typeof r.msg, 'string');
    }
    assert.ok(records.some((r) => r.msg === 'worker stopped'));
    // An activity's lines carry the workflow, run, activity, dataset-month and batch.
    const exportLine = records.find((r) => r.activity === 'exportBatch' && r.batch === 2);
    assert.ok(exportLine, `an exportBatch line for batch 2:\n${lines.slice(0, 30).join('\n')}`);
    assert.match(String(exportLine.workflowId), /^archive\/infra\/metered\//);
    assert.equal(typeof exportLine.workflowRunId, 'string');
    assert.equal(exportLine.group, 'infra');
    assert.equal(exportLine.dataset, 'metered');
    assert.equal(exportLine.month, MONTH);
    // A workflow's lines (through the SDK's sink) carry its dataset-month too.
    const workflowLine = records.find((r) => r.workflowType === 'archive' && r.dataset === 'metered');
    assert.ok(workflowLine, `a workflow line:\n${lines.slice(0, 30).join('\n')}`);
    const text = lines.join('\n');
    assert.ok(!text.includes(w.readToken) && !text.includes(w.writeToken), 'no token in the logs');
  });
});
