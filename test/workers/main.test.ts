// The worker process (npm run worker) as operators run it: killed with SIGKILL in the middle of an
// export and restarted, the archive completes with the same result and no duplicate objects; SIGTERM
// stops it gracefully.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { archiveWorkflowId } from '../../src/archive/layout.ts';
import { monthRange } from '../../src/month.ts';
import { buildStore } from '../../src/worker/runtime.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import type { ArchiveProgress, ArchiveResult } from '../../src/workflows/archive.ts';
import { writeConfigFile } from '../support/config.ts';
import { toInputFormat } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip, type Warp10Stack } from '../support/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MONTH = '2026-07';
const S = Number(monthRange(MONTH, 'UTC').startUs);

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

function writeConfig(w: Warp10Stack, cls: string, taskQueue: string) {
  return writeConfigFile({ warp10Url: w.url, taskQueue, dataset: 'crash', cls, seriesPerBatch: 2 });
}

function startWorker(configFile: string, w: Warp10Stack): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      OFFLOAD_CONFIG: configFile,
      WARP10_READ_TOKEN: w.readToken,
      WARP10_WRITE_TOKEN: w.writeToken,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return Object.assign(child, { output: () => out });
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.exitCode !== null || child.signalCode !== null
      ? resolve({ code: child.exitCode, signal: child.signalCode })
      : child.once('exit', (code, signal) => resolve({ code, signal })),
  );

async function seed(w: Warp10Stack, cls: string, series: number, pointsEach: number) {
  const c = new Warp10Client({ url: w.url });
  const all = Array.from({ length: series }, (_, i) => ({
    cls,
    labels: { host: `h${String(i).padStart(3, '0')}` },
    points: Array.from({ length: pointsEach }, (_, p) => ({ ts: S + p * 1_000_000, value: p * i })),
  }));
  await c.update(w.writeToken, toInputFormat(all));
  await c.close();
}

describe('npm run worker', () => {
  test('SIGKILL during export, then a restart: same result, no duplicate objects', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.crash').replace(/-/g, '.');
    const taskQueue = uniqueId('crash');
    const { file, config } = writeConfig(w, cls, taskQueue);
    await seed(w, cls, 80, 2_000); // 40 batches of 2 series, 160,000 points

    const ref = { group: 'infra', dataset: 'crash', month: MONTH };
    const workflowId = `${archiveWorkflowId(ref)}-${taskQueue}`;
    const handle = await env.client.workflow.start('archive', { taskQueue, workflowId, args: [ref] });
    const first = startWorker(file, w);
    // Kill as soon as some, not all, batches are exported.
    let progress: ArchiveProgress | undefined;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      progress = await handle.query<ArchiveProgress>('archiveProgress').catch(() => undefined);
      if (progress && progress.exported >= 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(
      progress && progress.phase === 'export' && progress.exported < progress.batches,
      `killed mid-export (${JSON.stringify(progress)})`,
    );
    first.kill('SIGKILL');
    assert.equal((await exited(first)).signal, 'SIGKILL');

    const second = startWorker(file, w);
    const result = (await handle.result()) as ArchiveResult;
    second.kill('SIGTERM');
    await exited(second);

    assert.equal(result.status, 'archived');
    assert.equal(result.series, 80);
    assert.equal(result.points, 160_000);
    const store = buildStore(config);
    const keys = (await store.list('infra/crash/')).map((o) => o.key);
    await store.close();
    assert.equal(
      keys.filter((k) => k.endsWith('.wrap.gz')).length,
      40,
      'one object per batch, no duplicates',
    );
    assert.equal(keys.filter((k) => /batch-\d+\.json$/.test(k)).length, 40);
    assert.equal(keys.filter((k) => k.includes('tmp')).length, 0, 'no temporary file left');
    assert.equal(new Set(keys).size, keys.length);
  });

  test('SIGTERM stops the worker gracefully (exit 0)', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const { file } = writeConfig(w, 'unused', uniqueId('sigterm'));
    const worker = startWorker(file, w);
    const deadline = Date.now() + 60_000;
    while (!worker.output().includes('worker on task queue') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    worker.kill('SIGTERM');
    const { code } = await exited(worker);
    assert.equal(code, 0, worker.output());
    assert.match(worker.output(), /worker stopped/);
  });
});
