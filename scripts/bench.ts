// npm run bench — archive throughput and memory, measured in one run against the local stack:
//   1. the same month archived with small and large batches (points/s, ratio);
//   2. a dataset 4x larger: peak RSS growth while archiving, against the 1x run (ratio), which shows
//      whether the export streams (bounded memory) or buffers;
//   3. the export reply parser alone against library parsers (bench/reader.ts; no Warp 10 needed).
// Needs a running Warp 10 (npm run stack:up, or WARP10_URL). Data goes to throwaway classes and months.
// `npm run bench -- archive` or `npm run bench -- reader` runs one part only.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, bundleWorkflowCode } from '@temporalio/worker';
import { archiveWorkflowId } from '../src/archive/layout.ts';
import { parseConfig } from '../src/config/load.ts';
import { inputFormatChunks, type SyntheticPlan } from '../src/demo/synthetic.ts';
import { monthRange } from '../src/month.ts';
import { applyStackEnv } from '../src/stack-env.ts';
import { buildRuntime } from '../src/worker/runtime.ts';
import { createOffloadWorker } from '../src/worker/worker.ts';
import type { ArchiveResult } from '../src/workflows/archive.ts';
import { benchReader } from './bench/reader.ts';
import { DATA, ROOT } from './stack/common.ts';

applyStackEnv();
Runtime.install({ logger: new DefaultLogger('WARN') });

const STEP = 10 * 60 * 1_000_000; // one point every 10 minutes

async function main() {
  if (!process.env.WARP10_URL) throw new Error('no Warp 10: run npm run stack:up (or set WARP10_URL)');
  const native = await NativeConnection.connect({
    address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
  });
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const client = new Client({ connection });
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: path.join(ROOT, 'src', 'workflows', 'index.ts'),
    logger: new DefaultLogger('WARN'),
  });

  async function archiveOnce(label: string, month: string, hosts: number, seriesPerBatch: number) {
    const run = `bench${Date.now().toString(36)}`;
    const storePath = path.join(DATA, 'bench', run);
    const config = parseConfig(
      {
        warp10: {
          url: process.env.WARP10_URL,
          readToken: { env: 'WARP10_READ_TOKEN' },
          writeToken: { env: 'WARP10_WRITE_TOKEN' },
        },
        temporal: { taskQueue: run },
        store: { type: 'local', path: storePath },
        groups: [
          { name: 'bench', datasets: [{ name: run, selector: { class: `${run}.cpu` }, seriesPerBatch }] },
        ],
      },
      'bench',
    );
    const rt = buildRuntime(config);
    const r = monthRange(month, 'UTC');
    const plan: SyntheticPlan = {
      hosts,
      cores: 8,
      clients: 0,
      stepUs: STEP,
      startUs: Number(r.startUs),
      endUs: Number(r.endUs),
    };
    for (const chunk of inputFormatChunks(plan)) {
      await rt.client.update(
        rt.tokens.write,
        chunk.replace(/os\.(cpu|mem|up)|net\.bytes/g, (c) => `${run}.${c.split('.')[1]}`),
      );
    }
    const worker = await createOffloadWorker({
      connection: native,
      runtime: rt,
      taskQueue: run,
      workflowBundle,
    });
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = Date.now();
    const ref = { group: 'bench', dataset: run, month };
    const result = (await worker.runUntil(
      client.workflow.execute('archive', { taskQueue: run, workflowId: archiveWorkflowId(ref), args: [ref] }),
    )) as ArchiveResult;
    const seconds = (Date.now() - started) / 1000;
    clearInterval(sampler);
    await rt.close();
    rmSync(storePath, { recursive: true, force: true });
    const row = {
      label,
      series: result.series,
      points: result.points,
      seconds,
      pointsPerSecond: result.points / seconds,
      bytesPerPoint: result.bytes / result.points,
      rssGrowthMiB: (peak - base) / 2 ** 20,
    };
    console.log(
      `${label.padEnd(28)} ${String(row.series).padStart(6)} series ${row.points.toLocaleString('en-US').padStart(11)} points ` +
        `${seconds.toFixed(1).padStart(6)} s ${Math.round(row.pointsPerSecond).toLocaleString('en-US').padStart(9)} pts/s ` +
        `${row.bytesPerPoint.toFixed(2)} B/pt  RSS +${row.rssGrowthMiB.toFixed(0)} MiB`,
    );
    return row;
  }

  console.log('archive benchmark (one run; Warp 10, worker and store on this machine)');
  const small = await archiveOnce('1x, 50 series per batch', '2001-01', 50, 50);
  const large = await archiveOnce('1x, 400 series per batch', '2001-02', 50, 400);
  const big = await archiveOnce('4x, 400 series per batch', '2001-03', 200, 400);
  console.log('');
  console.log(
    `throughput, 400 vs 50 series per batch: ${(large.pointsPerSecond / small.pointsPerSecond).toFixed(2)}x`,
  );
  console.log(
    `4x the points: ${(big.points / large.points).toFixed(1)}x points, RSS growth ${(big.rssGrowthMiB / Math.max(1, large.rssGrowthMiB)).toFixed(2)}x, throughput ${(big.pointsPerSecond / large.pointsPerSecond).toFixed(2)}x`,
  );
  await connection.close();
  await native.close();
}

const only = process.argv[2];
if (only !== undefined && only !== 'archive' && only !== 'reader') {
  throw new Error(`unknown part ${only}: archive or reader`);
}
if (only !== 'reader') await main();
if (only !== 'archive') await benchReader();
