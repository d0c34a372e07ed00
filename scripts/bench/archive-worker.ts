// A worker process of its own for one archive run, so that its peak RSS is the worker's alone: the bench
// (archive.ts) seeds the data and bundles the workflows, then runs
//   node --import tsx scripts/bench/archive-worker.ts '<json WorkerJob>'
// which archives the dataset-month and prints its result as JSON, with the process's high-water mark
// of resident memory (VmHWM in /proc/self/status: the kernel's own peak, no sample can miss it).
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { archiveWorkflowId } from '../../src/archive/layout.ts';
import { parseConfig } from '../../src/config/load.ts';
import { applyStackEnv } from '../../src/stack-env.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import type { ArchiveResult } from '../../src/workflows/archive.ts';

export interface WorkerJob {
  cls: string;
  month: string;
  storePath: string;
  batchConcurrency: number;
  bundlePath: string;
}

export interface WorkerReport {
  totalMs: number;
  points: number;
  /** VmHWM and VmRSS before the run (after start-up) and VmHWM at the end, in KiB. */
  startRssKiB: number;
  peakRssKiB: number;
}

function status(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m?.[1]) throw new Error(`no ${field} in /proc/self/status`);
  return Number(m[1]);
}

async function main(job: WorkerJob): Promise<WorkerReport> {
  applyStackEnv();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const native = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const config = parseConfig(
    {
      warp10: {
        url: process.env.WARP10_URL,
        readToken: { env: 'WARP10_READ_TOKEN' },
        writeToken: { env: 'WARP10_WRITE_TOKEN' },
      },
      temporal: { taskQueue: job.cls },
      store: { type: 'local', path: job.storePath },
      groups: [
        {
          name: 'bench',
          datasets: [
            {
              name: job.cls,
              selector: { class: job.cls },
              seriesPerBatch: 500,
              batchConcurrency: job.batchConcurrency,
            },
          ],
        },
      ],
    },
    'bench',
  );
  const rt = buildRuntime(config, { log: () => {} });
  const worker = await createOffloadWorker({
    connection: native,
    runtime: rt,
    taskQueue: job.cls,
    workflowBundle: { codePath: job.bundlePath },
  });
  const startRssKiB = status('VmRSS');
  const ref = { group: 'bench', dataset: job.cls, month: job.month };
  const t0 = performance.now();
  const result = (await worker.runUntil(
    client.workflow.execute('archive', {
      taskQueue: job.cls,
      workflowId: `${archiveWorkflowId(ref)}-${job.cls}`,
      args: [ref],
    }),
  )) as ArchiveResult;
  const totalMs = performance.now() - t0;
  await rt.close();
  await connection.close();
  await native.close();
  return { totalMs, points: result.points, startRssKiB, peakRssKiB: status('VmHWM') };
}

const arg = process.argv[2];
if (!arg) throw new Error("usage: archive-worker.ts '<json job>'");
process.stdout.write(JSON.stringify(await main(JSON.parse(arg) as WorkerJob)));
