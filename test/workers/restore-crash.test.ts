// A restore survives its worker: the worker process (npm run worker) is killed with SIGKILL in the middle
// of a restore and a new one started; the restore completes and Warp 10 holds exactly what was live
// before the archive. Real Temporal, real Warp 10, real store.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { restoreWorkflowId } from '../../src/archive/layout.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import type { RestoreProgress, RestoreResult } from '../../src/workflows/restore.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { writeConfigFile } from '../support/config.ts';
import { toInputFormat } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip, type Warp10Stack } from '../support/stack.ts';
import { dumpClass } from '../support/points.ts';
import { utcMonth } from '../support/month.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MONTH = '2026-05';
const { S, E } = utcMonth(MONTH);

/** Every point of a class: [ [ selector [ticks] [values] ] ... ] sorted by selector, ticks sorted. */
async function dump(w: Warp10Stack, cls: string): Promise<[string, number[], unknown[]][]> {
  return (await dumpClass(w, cls))
    .filter(([, ticks]) => ticks.length > 0)
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

function startWorker(configFile: string, w: Warp10Stack): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      OFFLOAD_CONFIG: configFile,
      WARP10_READ_TOKEN: w.readToken,
      WARP10_WRITE_TOKEN: w.writeToken,
    },
    stdio: 'ignore',
  });
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.exitCode !== null || child.signalCode !== null
      ? resolve({ code: child.exitCode, signal: child.signalCode })
      : child.once('exit', (code, signal) => resolve({ code, signal })),
  );

describe('restore and the worker process', () => {
  test('fault: worker SIGKILLed during restore — a new worker finishes it, Warp 10 holds exactly what was live, nothing doubled', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.rcrash').replace(/-/g, '.');
    const taskQueue = uniqueId('rcrash');
    const { file, config } = writeConfigFile({
      warp10Url: w.url,
      taskQueue,
      dataset: 'rcrash',
      cls,
      seriesPerBatch: 2,
    });
    const rt = buildRuntime(config);
    try {
      // 60 series of 2,000 points in 30 batches, plus a point on each boundary of the month.
      const series = Array.from({ length: 60 }, (_, i) => ({
        cls,
        labels: { host: `h${String(i).padStart(3, '0')}` },
        points: [
          { ts: S, value: i },
          ...Array.from({ length: 1_998 }, (_, p) => ({ ts: S + (p + 1) * 1_000_000, value: p * i + 0.5 })),
          { ts: E - 1, value: `end ${i}` },
        ],
      }));
      await rt.client.update(rt.tokens.write, toInputFormat(series));
      const live = await dump(w, cls);
      assert.equal(live.length, 60);
      const ref = { group: 'infra', dataset: 'rcrash', month: MONTH };
      const [archived] = await archiveRuns(env, rt, ref);
      assert.equal(archived?.points, 120_000);
      assert.deepEqual(await dump(w, cls), []);

      const handle = await env.client.workflow.start('restore', {
        taskQueue,
        workflowId: `${restoreWorkflowId(ref)}-${taskQueue}`,
        args: [ref],
      });
      const first = startWorker(file, w);
      let progress: RestoreProgress | undefined;
      const deadline = Date.now() + 180_000;
      while (Date.now() < deadline) {
        progress = await handle.query<RestoreProgress>('restoreProgress').catch(() => undefined);
        if (progress && progress.restored >= 3) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(
        progress && progress.phase === 'restore' && progress.restored < progress.batches,
        `killed mid-restore (${JSON.stringify(progress)})`,
      );
      first.kill('SIGKILL');
      assert.equal((await exited(first)).signal, 'SIGKILL');

      const second = startWorker(file, w);
      const result = (await handle.result()) as RestoreResult;
      second.kill('SIGTERM');
      await exited(second);

      assert.deepEqual([result.status, result.series, result.points], ['restored', 60, 120_000]);
      assert.deepEqual(await dump(w, cls), live, 'exactly what was live, nothing doubled');
    } finally {
      await rt.close();
    }
  });
});
