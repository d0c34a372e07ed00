// UNIT TESTS with MOCKED Warp 10 activities: the monthly Temporal Schedule and `npm run schedule`
// (create, update, describe, trigger, pause, unpause, delete, backfill) on the real Temporal dev server.
// The archive's Warp 10 and store activities are in-memory stubs (test/support/monthly-stubs.ts), so
// these run in CI without Warp 10. Every schedule created here is deleted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { runScheduleCli, parseScheduleArgs, UsageError } from '../../src/cli/schedule.ts';
import {
  describeSchedule,
  formatScheduleReport,
  scheduleConfig,
  scheduleHandle,
} from '../../src/client/schedule.ts';
import { previousMonth } from '../../src/month.ts';
import type { MonthlyResult } from '../../src/workflows/monthly.ts';
import { stubWorld, uniqueGroup, type StubWorld } from '../support/monthly-stubs.ts';
import { testConfig } from '../support/config.ts';
import { temporalEnv, uniqueId } from '../support/stack.ts';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

async function cli(w: Pick<StubWorld, 'config'>, argv: string[], now?: Date) {
  const c = capture();
  const code = await runScheduleCli(argv, c.io, { client: env.client, config: w.config, now });
  return { code, out: c.out.join('\n'), err: c.err.join('\n') };
}

async function world(timezone = 'Europe/Paris') {
  const infra = uniqueGroup('infra');
  const clients = uniqueGroup('clients');
  return stubWorld(env, {
    timezone,
    groups: [
      {
        name: infra,
        mode: 'parallel',
        concurrency: 2,
        datasets: [
          { name: 'os-cpu', selector: { class: 'os.cpu' } },
          { name: 'os-mem', selector: { class: 'os.mem' } },
        ],
      },
      {
        name: clients,
        mode: 'sequential',
        discover: { selector: { class: 'client.http' }, byLabel: 'owner' },
      },
    ],
    discovery: { 'client.http': ['acme', 'Globex Corp'] },
    schedule: {
      id: uniqueId('test-schedule'),
      dayOfMonth: 1,
      hour: 0,
      minute: 30,
      catchupWindow: '3 days',
      pauseOnFailure: false,
    },
  });
}

/** Waits for the schedule's next recorded action and returns its workflow ID. */
async function nextAction(w: StubWorld, seen: number): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const d = await scheduleHandle(env.client, w.config).describe();
    const a = d.info.recentActions.at(-1);
    if (d.info.numActionsTaken > seen && a) return a.action.workflow.workflowId;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the schedule took no action');
}

describe('monthly schedule (unit, mocked Warp 10 activities)', () => {
  test('create (idempotent) → trigger: the run archives the previous month; describe shows it', async () => {
    const w = await world();
    try {
      const created = await cli(w, ['create']);
      assert.equal(created.code, 0, created.err);
      assert.match(created.out, /created: monthlyOffload day 1 of every month at 00:30 Europe\/Paris/);
      assert.match(created.out, /next: \d{4}-\d{2}-01 00:30 Europe\/Paris/);
      const again = await cli(w, ['create']);
      assert.equal(again.code, 0);
      assert.match(again.out, / updated: /);

      const before = await describeSchedule(env.client, w.config);
      assert.equal(before.overlap, ScheduleOverlapPolicy.SKIP);
      assert.equal(before.outOfDate, false);
      assert.equal(before.catchupWindowMs, 3 * 86_400_000);
      assert.equal(before.nextRuns.length > 0, true);
      for (const t of before.nextRuns) {
        const local = new Intl.DateTimeFormat('en-GB', {
          timeZone: 'Europe/Paris',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
          hourCycle: 'h23',
        }).format(t);
        assert.equal(local, '1, 00:30');
      }

      const result = await w.worker.runUntil(async () => {
        const t = await cli(w, ['trigger']);
        assert.equal(t.code, 0, t.err);
        const m = /triggered: (offload\/scheduled\/test-schedule-\S+)/.exec(t.out);
        assert.ok(m?.[1], t.out);
        return (await env.client.workflow.getHandle(m[1]).result()) as MonthlyResult;
      });
      const expected = previousMonth(new Date(), 'Europe/Paris');
      assert.equal(result.month, expected);
      assert.equal(result.status, 'archived');
      assert.equal(result.archived, 4);
      assert.deepEqual(
        result.groups.map((g) => g.result?.archived),
        [2, 2],
      );

      const report = await describeSchedule(env.client, w.config);
      assert.equal(report.recent.length, 1);
      assert.equal(report.recent[0]?.status, 'COMPLETED');
      assert.equal(report.recent[0]?.month, expected);
      assert.equal(report.recent[0]?.phase, 'done');
      const described = await cli(w, ['describe']);
      assert.equal(described.code, 0);
      assert.match(described.out, /schedule test-schedule-\S+: active/);
      assert.match(described.out, /overlap SKIP, catch-up window 3 day\(s\)/);
      assert.match(described.out, /next runs:\n {4}\d{4}-\d{2}-01 00:30 Europe\/Paris/);
      assert.match(described.out, new RegExp(`COMPLETED {2}month ${expected} {2}phase done`));
      assert.match(described.out, new RegExp(`${expected}: 4 archived, 0 already archived, 0 failed`));
      assert.equal(formatScheduleReport(report, 'Europe/Paris'), described.out);

      // Pause survives an update; unpause resumes.
      assert.equal((await cli(w, ['pause', '--note', 'maintenance'])).code, 0);
      assert.equal((await cli(w, ['update'])).code, 0);
      let d = await describeSchedule(env.client, w.config);
      assert.equal(d.paused, true);
      assert.equal(d.note, 'maintenance');
      assert.match((await cli(w, ['describe'])).out, /: PAUSED \(maintenance\)/);
      assert.equal((await cli(w, ['unpause'])).code, 0);
      d = await describeSchedule(env.client, w.config);
      assert.equal(d.paused, false);
    } finally {
      const del = await cli(w, ['delete']);
      assert.equal(del.code, 0);
    }
    const gone = await cli(w, ['describe']);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /no schedule test-schedule-\S+ .*run `npm run schedule -- create` first/);
  });

  test("a late or caught-up run archives the month before its nominal time, not before today's", async () => {
    const w = await world('Europe/Paris');
    try {
      assert.equal((await cli(w, ['create'])).code, 0);
      const handle = scheduleHandle(env.client, w.config);
      const seen = (await handle.describe()).info.numActionsTaken;
      const result = await w.worker.runUntil(async () => {
        // The 1 March 2026 00:30 Paris run, started only now (as after an outage, within catch-up).
        await handle.backfill({
          start: new Date('2026-02-28T23:29:00Z'),
          end: new Date('2026-02-28T23:31:00Z'),
          overlap: ScheduleOverlapPolicy.ALLOW_ALL,
        });
        const id = await nextAction(w, seen);
        assert.equal(id, `offload/scheduled/${scheduleConfig(w.config).id}-2026-02-28T23:30:00Z`);
        return (await env.client.workflow.getHandle(id).result()) as MonthlyResult;
      });
      assert.equal(result.month, '2026-02');
      assert.equal(result.archived, 4);
    } finally {
      await scheduleHandle(env.client, w.config).delete();
    }
  });

  test('backfill: oldest month first, one month at a time, then nothing left to do', async () => {
    const w = await world('UTC');
    const [first, second, callsAfterFirst] = await w.worker.runUntil(async () => {
      const a = await cli(w, ['backfill', '--from', '2025-02', '--to', '2025-04']);
      const n = w.stubs.calls.length;
      const b = await cli(w, ['backfill', '--from', '2025-01', '--to', '2025-04']);
      return [a, b, n] as const;
    });
    assert.equal(first.code, 0, first.err);
    const lines = first.out.split('\n');
    assert.deepEqual(
      lines.map((l) => l.slice(0, 8)),
      ['2025-02:', '2025-02:', '2025-03:', '2025-03:', '2025-04:', '2025-04:', 'backfill'],
    );
    assert.match(lines[0] ?? '', /^2025-02: started offload\/2025-02$/);
    assert.match(lines[1] ?? '', /^2025-02: 4 archived, 0 already archived, 0 failed/);
    assert.match(lines[6] ?? '', /backfill 2025-02\.\.2025-04: 3 month\(s\), 0 with failures/);
    // Never two months at once: every activity of a month ends before the next month's first starts.
    // (A month's run also rechecks the months before it for late data: plans only, after its own.)
    const span = (month: string) => {
      const calls = w.stubs.calls
        .slice(0, callsAfterFirst)
        .filter((c) => c.month === month && c.activity !== 'planMonth');
      return [Math.min(...calls.map((c) => c.start)), Math.max(...calls.map((c) => c.end ?? Infinity))];
    };
    const [m3, m4, m5] = ['2025-02', '2025-03', '2025-04'].map(span);
    assert.ok(
      (m3?.[1] ?? 0) <= (m4?.[0] ?? 0) && (m4?.[1] ?? 0) <= (m5?.[0] ?? 0),
      `months overlapped: ${JSON.stringify([m3, m4, m5])}`,
    );

    assert.equal(second.code, 0, second.err);
    assert.match(second.out, /^2025-01: 4 archived/m);
    for (const m of ['2025-02', '2025-03', '2025-04']) {
      assert.match(
        second.out,
        new RegExp(`^${m}: nothing to do, 4 of 4 dataset\\(s\\) already archived$`, 'm'),
      );
    }
    const commits = (calls: typeof w.stubs.calls) => calls.filter((c) => c.activity === 'commitMonth').length;
    assert.equal(commits(w.stubs.calls), commits(w.stubs.calls.slice(0, callsAfterFirst)) + 4);
  });

  test('bad flags are refused with a clear message and exit code 2', async () => {
    // No worker: nothing may start.
    const w = {
      config: testConfig({
        groups: [{ name: 'infra', datasets: [{ name: 'ds', selector: { class: 'c' } }] }],
      }),
    };
    const now = new Date('2026-06-15T12:00:00Z');
    const cases: [string[], RegExp][] = [
      [[], /expected a command: create, update, describe/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['create', 'extra'], /unexpected argument\(s\): extra/],
      [['create', '--bogus'], /Unknown option '--bogus'/],
      [['backfill'], /backfill needs --from YYYY-MM and --to YYYY-MM/],
      [['backfill', '--from', '2026-01'], /backfill needs --from YYYY-MM and --to YYYY-MM/],
      [['backfill', '--from', '2026-13', '--to', '2026-02'], /--from: invalid month "2026-13"/],
      [['backfill', '--from', '2026-01', '--to', '26-02'], /--to: invalid month "26-02"/],
      [['backfill', '--from', '2026-03', '--to', '2026-01'], /--from 2026-03 is after --to 2026-01/],
      [['backfill', '--from', '2026-01', '--to', '2026-06'], /2026-06 is the current month in UTC/],
      [['backfill', '--from', '2026-01', '--to', '2026-02', '--group', 'nope'], /No group "nope"/],
      [['pause', '--from', '2026-01'], /--from is only for backfill/],
      [['create', '--note', 'x'], /--note is only for pause and unpause/],
    ];
    for (const [argv, pattern] of cases) {
      const r = await cli(w, argv, now);
      assert.equal(r.code, 2, `${argv.join(' ')}: exit ${r.code}`);
      assert.match(r.err, pattern, argv.join(' '));
    }
    assert.deepEqual(
      parseScheduleArgs(['backfill', '--from', '2026-01', '--to', '2026-02', '--group', 'a,b', '--dry-run']),
      {
        command: 'backfill',
        from: '2026-01',
        to: '2026-02',
        groups: ['a', 'b'],
        dryRun: true,
      },
    );
    assert.throws(() => parseScheduleArgs(['--help']), UsageError);

    // And through npm's entry point, as an operator runs it.
    const res = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/schedule.ts', 'backfill', '--from', '2026-13', '--to', '2026-01'],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env } },
    );
    assert.equal(res.status, 2, res.stderr);
    assert.match(res.stderr, /error: --from: invalid month "2026-13": the month must be between 01 and 12/);
    assert.match(res.stderr, /usage: npm run schedule -- <command>/);
  });
});
