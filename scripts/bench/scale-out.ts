// npm run bench:scale-out — the speed-up of 2 worker processes over 1 on one task queue: the same
// multi-dataset month (fresh classes each time) is run by the monthly workflow with 1 worker, then with 2,
// and the wall-clock times are compared. Needs the local stack (npm run stack:up). Prints, asserts nothing.
//   BENCH_DATASETS (8), BENCH_SERIES (40 per dataset), BENCH_POINTS (3000 per series), BENCH_PER_BATCH (10)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startMonthly } from '../../src/client/monthly.ts';
import { parseConfig } from '../../src/config/load.ts';
import { monthRange } from '../../src/month.ts';
import { applyStackEnv } from '../../src/stack-env.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import type { MonthlyResult } from '../../src/workflows/monthly.ts';
import { DATA, ROOT } from '../stack/common.ts';

applyStackEnv();
const env = (k: string, d: number) => Number(process.env[k] ?? d);
const DATASETS = env('BENCH_DATASETS', 8);
const SERIES = env('BENCH_SERIES', 40);
const POINTS = env('BENCH_POINTS', 3_000);
const PER_BATCH = env('BENCH_PER_BATCH', 10);
const MONTH = '2024-02';
const S = Number(monthRange(MONTH, 'UTC').startUs);

function inputFormat(cls: string): string {
  const out: string[] = [];
  for (let i = 0; i < SERIES; i++) {
    for (let p = 0; p < POINTS; p++)
      out.push(`${S + p * 60_000_000}// ${cls}{host=h${i}} ${(p * 7 + i) % 1000}.5`);
  }
  return out.join('\n');
}

function startWorker(configFile: string, bundle: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, OFFLOAD_CONFIG: configFile, OFFLOADER_WORKFLOW_BUNDLE: bundle, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function runWith(workers: number, client: Client, w10: Warp10Client, bundle: string) {
  const run = `so${workers}x${Date.now().toString(36)}`;
  const dir = path.join(DATA, 'bench', run);
  mkdirSync(dir, { recursive: true });
  const raw = {
    warp10: {
      url: process.env.WARP10_URL,
      readToken: { env: 'WARP10_READ_TOKEN' },
      writeToken: { env: 'WARP10_WRITE_TOKEN' },
    },
    temporal: { address: process.env.TEMPORAL_ADDRESS, taskQueue: run },
    store: { type: 'local', path: path.join(dir, 'archive') },
    logging: { format: 'json', level: 'warn' },
    groups: [
      {
        name: run,
        mode: 'parallel',
        concurrency: DATASETS,
        datasets: Array.from({ length: DATASETS }, (_, i) => ({
          name: `ds${i}`,
          selector: { class: `${run}.ds${i}` },
          seriesPerBatch: PER_BATCH,
        })),
      },
    ],
  };
  const file = path.join(dir, 'offload.json');
  writeFileSync(file, JSON.stringify(raw));
  const config = parseConfig(raw, file);
  for (let i = 0; i < DATASETS; i++)
    await w10.update(process.env.WARP10_WRITE_TOKEN ?? '', inputFormat(`${run}.ds${i}`));
  const procs = Array.from({ length: workers }, () => startWorker(file, bundle));
  try {
    await new Promise((r) => setTimeout(r, 8_000)); // let the workers connect and poll
    const t0 = performance.now();
    const started = await startMonthly(client, config, { month: MONTH, groups: [run] });
    const result = (await client.workflow
      .getHandle(started.workflowId, started.runId)
      .result()) as MonthlyResult;
    const seconds = (performance.now() - t0) / 1000;
    if (result.archived !== DATASETS) throw new Error(`not all archived: ${JSON.stringify(result)}`);
    return { seconds, points: result.points };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(
      procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))),
    );
  }
}

async function main() {
  if (!process.env.WARP10_URL || !process.env.TEMPORAL_ADDRESS) throw new Error('run npm run stack:up first');
  const bundlePath = path.join(DATA, 'bench', 'workflow-bundle.js');
  mkdirSync(path.dirname(bundlePath), { recursive: true });
  writeFileSync(
    bundlePath,
    (
      await bundleWorkflowCode({
        workflowsPath: path.join(ROOT, 'src', 'workflows', 'index.ts'),
        logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
      })
    ).code,
  );
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
  const client = new Client({ connection });
  const w10 = new Warp10Client({ url: process.env.WARP10_URL });
  console.log(
    `scale-out: ${DATASETS} datasets x ${SERIES} series x ${POINTS} points, batches of ${PER_BATCH} series; ` +
      `${os.cpus().length} CPUs (shared with Temporal and Warp 10)`,
  );
  const one = await runWith(1, client, w10, bundlePath);
  console.log(`1 worker : ${one.seconds.toFixed(1)} s, ${Math.round(one.points / one.seconds)} points/s`);
  const two = await runWith(2, client, w10, bundlePath);
  console.log(`2 workers: ${two.seconds.toFixed(1)} s, ${Math.round(two.points / two.seconds)} points/s`);
  console.log(`speed-up 2 vs 1: ${(one.seconds / two.seconds).toFixed(2)}x`);
  await w10.close();
  await connection.close();
}

await main();
