// npm run bench -- restore: restore throughput against a plain /api/v0/update of the same points, both
// measured in this run on this machine.
//   1. a synthetic month (doubles, longs, booleans, strings) is ingested into class A and archived (so
//      deleted from the stack's Warp 10);
//   2. into a second, fresh Warp 10 standalone (a "cold" instance, the common restore target): the
//      floor, a plain POST /api/v0/update of the same points (text generated before the clock starts)
//      into class B; then the restore workflow of A's month into that instance (plan, check, write,
//      read back), timed from start to result;
//   3. the same restore into the stack's own Warp 10, right after the archive deleted the month: its
//      check reads ranges full of fresh LevelDB tombstones, the slow case (reported, not the criterion).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { archiveWorkflowId, restoreWorkflowId } from '../../src/archive/layout.ts';
import { parseConfig } from '../../src/config/load.ts';
import { inputFormatChunks, type SyntheticPlan } from '../../src/demo/synthetic.ts';
import { monthRange } from '../../src/month.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import type { ArchiveResult } from '../../src/workflows/archive.ts';
import type { RestoreResult } from '../../src/workflows/restore.ts';
import { DATA } from '../stack/common.ts';
import { startStandalone } from '../stack/warp10.ts';

const STEP = 10 * 60 * 1_000_000;
const rate = (points: number, seconds: number) => Math.round(points / seconds).toLocaleString('en-US');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no free port'))));
    });
  });
}

export async function benchRestore(opts: {
  client: Client;
  native: NativeConnection;
  workflowBundle: { code: string };
  hosts?: number;
  seriesPerBatch?: number;
}): Promise<{ updatePointsPerSecond: number; restorePointsPerSecond: number; ratio: number }> {
  const { client, native, workflowBundle } = opts;
  const run = `rbench${Date.now().toString(36)}`;
  const storePath = path.join(DATA, 'bench', run);
  const month = '2001-04';
  const port = await freePort();
  const coldDir = mkdtempSync(path.join(tmpdir(), 'bench-cold-warp10-'));
  console.log(`restore benchmark: starting a second Warp 10 on port ${port} (the cold target)`);
  const cold = await startStandalone({ name: `warp10-bench-${port}`, dataDir: coldDir, port });
  process.env.BENCH_COLD_READ = cold.readToken;
  process.env.BENCH_COLD_WRITE = cold.writeToken;
  const config = parseConfig(
    {
      warp10: {
        url: process.env.WARP10_URL,
        readToken: { env: 'WARP10_READ_TOKEN' },
        writeToken: { env: 'WARP10_WRITE_TOKEN' },
      },
      temporal: { taskQueue: run },
      store: { type: 'local', path: storePath },
      restoreTargets: [
        {
          name: 'cold',
          url: cold.url,
          readToken: { env: 'BENCH_COLD_READ' },
          writeToken: { env: 'BENCH_COLD_WRITE' },
        },
      ],
      groups: [
        {
          name: 'bench',
          datasets: [
            { name: run, selector: { class: `~${run}a\\..*` }, seriesPerBatch: opts.seriesPerBatch ?? 100 },
          ],
        },
      ],
    },
    'bench',
  );
  const rt = buildRuntime(config);
  const r = monthRange(month, 'UTC');
  const plan: SyntheticPlan = {
    hosts: opts.hosts ?? 50,
    cores: 8,
    clients: 0,
    stepUs: STEP,
    startUs: Number(r.startUs),
    endUs: Number(r.endUs),
  };
  const rename = (chunk: string, cls: string) =>
    chunk.replace(/os\.(cpu|mem|up)|net\.bytes/g, (c) => `${cls}.${c.split('.')[1]}`);
  // A worker runs once (runUntil): one per workflow.
  const execute = async (type: string, workflowId: string, args: unknown[]) => {
    const worker = await createOffloadWorker({
      connection: native,
      runtime: rt,
      taskQueue: run,
      workflowBundle,
    });
    return worker.runUntil(client.workflow.execute(type, { taskQueue: run, workflowId, args }));
  };
  const coldClient = new Warp10Client({ url: cold.url });
  try {
    for (const chunk of inputFormatChunks(plan))
      await rt.client.update(rt.tokens.write, rename(chunk, `${run}a`));
    const ref = { group: 'bench', dataset: run, month };
    const archived = (await execute('archive', archiveWorkflowId(ref), [ref])) as ArchiveResult;

    // The floor: the same points, already as text, posted to /api/v0/update of the cold instance.
    const bodies = [...inputFormatChunks(plan)].map((c) => rename(c, `${run}b`));
    const started = Date.now();
    for (const body of bodies) await coldClient.update(cold.writeToken, body);
    const updateSeconds = (Date.now() - started) / 1000;

    const timed = async (target?: string) => {
      const t0 = Date.now();
      const req = { ...ref, ...(target ? { target } : {}) };
      const res = (await execute('restore', restoreWorkflowId(req, target), [req])) as RestoreResult;
      if (res.points !== archived.points) {
        throw new Error(`restore wrote ${res.points} points, the archive holds ${archived.points}`);
      }
      return { res, seconds: (Date.now() - t0) / 1000 };
    };
    const intoCold = await timed('cold');
    const intoHot = await timed();

    const u = archived.points / updateSeconds;
    const rs = archived.points / intoCold.seconds;
    const line = (label: string, seconds: number, extra = '') =>
      console.log(
        `  ${label.padEnd(48)} ${archived.series} series ${archived.points.toLocaleString('en-US')} points ${seconds.toFixed(1).padStart(5)} s ${rate(archived.points, seconds).padStart(9)} pts/s${extra}`,
      );
    console.log('restore benchmark (one run; Warp 10s, worker and store on this machine)');
    line('plain /api/v0/update (cold instance)', updateSeconds);
    line(
      'restore workflow into the cold instance',
      intoCold.seconds,
      ` (${intoCold.res.batches} batches, ${(intoCold.res.bytes / 2 ** 20).toFixed(1)} MiB of archive)`,
    );
    line('restore into the hot instance, right after archive', intoHot.seconds);
    console.log(`  restore / plain update (cold instance): ${(rs / u).toFixed(2)}x`);
    console.log(
      `  restore into the hot instance just emptied by the archive / plain update: ${(archived.points / intoHot.seconds / u).toFixed(2)}x`,
    );
    return { updatePointsPerSecond: u, restorePointsPerSecond: rs, ratio: rs / u };
  } finally {
    await coldClient.close();
    await rt.close();
    await cold.stop();
    rmSync(storePath, { recursive: true, force: true });
    rmSync(coldDir, { recursive: true, force: true });
  }
}
