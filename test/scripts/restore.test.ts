// npm run restore as an operator runs it, against the real stack: bad input exits 2 with a clear message
// and starts and writes nothing; --dry-run says what would be written and writes nothing; --wait --json
// restores and prints a summary without secrets.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { planKey } from '../../src/archive/layout.ts';
import { monthRange } from '../../src/month.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { writeConfigFile } from '../support/config.ts';
import { NASTY_POINTS, NASTY_SERIES, seedNasty } from '../support/nasty-month.ts';
import { dumpFull } from '../support/restore-run.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle } from '../support/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MONTH = '2026-01';
const S = Number(monthRange(MONTH, 'UTC').startUs);
const E = Number(monthRange(MONTH, 'UTC').endUs);

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

function runCli(args: string[], vars: Record<string, string>) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/restore.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...vars },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function started(workflowId: string): Promise<boolean> {
  try {
    await env.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch {
    return false;
  }
}

describe('npm run restore against the real stack', () => {
  test('refuses bad input (exit 2, nothing started or written); --dry-run writes nothing; --wait --json restores', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.clirestore').replace(/-/g, '.');
    const ds = uniqueId('rds');
    const taskQueue = uniqueId('cli-restore');
    const { file, config } = writeConfigFile({
      warp10Url: w.url,
      taskQueue,
      dataset: ds,
      cls,
      seriesPerBatch: 5,
    });
    const rt = buildRuntime(config);
    const vars = { OFFLOAD_CONFIG: file, WARP10_READ_TOKEN: w.readToken, WARP10_WRITE_TOKEN: w.writeToken };
    const workflowId = `restore/infra/${ds}/${MONTH}`;
    try {
      await seedNasty(rt, w, cls, S, E);
      const [archived] = await archiveRuns(env, rt, { group: 'infra', dataset: ds, month: MONTH });
      assert.equal(archived?.status, 'archived');
      // An unfinished month of another dataset-month: a plan but no manifest.
      await rt.store.put(planKey({ group: 'infra', dataset: ds, month: '2025-12' }), '{}');

      const base = ['--month', MONTH, '--dataset', ds];
      const cases: [string, string[], RegExp][] = [
        [
          'no such archive',
          ['--month', '2025-11', '--dataset', ds],
          /NoSuchArchive: no archive of infra\/.* 2025-11/,
        ],
        [
          'a month not complete',
          ['--month', '2025-12', '--dataset', ds],
          /IncompleteMonth: .*not complete.*start-archive/,
        ],
        [
          'a selector matching nothing',
          [...base, '--series', `${cls}{owner=nobody}`],
          /InvalidInput: nothing to restore.*owner=nobody/,
        ],
        ['an unknown target', [...base, '--target', 'cold'], /unknown restore target "cold"/],
        [
          'a window outside the month',
          [...base, '--from', '2025-12-31T00:00:00Z', '--to', '2026-01-02T00:00:00Z'],
          /not inside 2026-01/,
        ],
        ['a malformed selector', [...base, '--series', 'oops'], /invalid series selector/],
      ];
      for (const [what, args, message] of cases) {
        const res = await runCli(args, vars);
        assert.equal(res.status, 2, `${what}: ${res.stderr}`);
        assert.match(res.stderr, message, what);
      }
      assert.equal(await started(workflowId), false, 'no restore started');
      assert.deepEqual(await dumpFull(w, cls, S, E - 1), [], 'nothing written');

      const worker = await createOffloadWorker({
        connection: env.nativeConnection,
        runtime: rt,
        taskQueue,
        workflowBundle: await workflowBundle(),
      });
      await worker.runUntil(async () => {
        const dry = await runCli([...base, '--dry-run'], vars);
        assert.equal(dry.status, 0, dry.stderr);
        assert.match(dry.stdout, /DRY RUN — nothing was written/);
        assert.match(
          dry.stdout,
          new RegExp(`total: ${NASTY_SERIES} series, ${NASTY_POINTS} points, [\\d.]+ [KM]?i?B into default`),
        );
        assert.deepEqual(await dumpFull(w, cls, S, E - 1), [], 'a dry run writes nothing');

        const real = await runCli(
          [...base, '--series', `${cls}{owner~customer-[01]}`, '--wait', '--json'],
          vars,
        );
        assert.equal(real.status, 0, real.stderr);
        const summary = JSON.parse(real.stdout);
        assert.equal(summary.status, 'restored');
        assert.equal(summary.workflowId, workflowId);
        assert.deepEqual([summary.series, summary.points], [4, 4]);
        for (const secret of [w.readToken, w.writeToken]) {
          assert.ok(!real.stdout.includes(secret) && !real.stderr.includes(secret), 'no token in the output');
        }
        const rows = await dumpFull(w, cls, S, E - 1);
        assert.equal(rows.length, 4);
        assert.ok(rows.every(([sel]) => /owner=customer-[01]/.test(sel)));
      });
    } finally {
      await rt.close();
    }
  });
});
