// npm run bench -- restore: restore throughput against a plain /api/v0/update of the same points, both
// measured in this run on this machine.
//   1. a synthetic month (doubles, longs, booleans, strings) is ingested into class A and archived (so
//      deleted from the stack's Warp 10);
//   2. into a second, fresh Warp 10 standalone (a "cold" instance, the common restore target): the
//      floor, a plain POST /api/v0/update of the same points (text generated before the clock starts)
//      into class B and a plain read-back of them (FETCH of class B over the month, counted); then the restore workflow of A's month into that instance (plan, check, write,
//      read back), timed from start to result;
//   3. the same restore into the stack's own Warp 10, right after the archive deleted the month: its
//      check reads ranges full of fresh LevelDB tombstones, the slow case (reported, not the criterion).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { archiveWorkflowId, restoreWorkflowId } from '../../src/archive/layout.ts';
import { inputFormatChunks, type SyntheticPlan } from '../../src/demo/synthetic.ts';
import { monthRange } from '../../src/month.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { httpRunner } from '../../src/warp10/runner.ts';
import type { ArchiveResult } from '../../src/workflows/archive.ts';
import type { RestoreResult } from '../../src/workflows/restore.ts';
import { DATA, readPid } from '../stack/common.ts';
import { startStandalone } from '../stack/warp10.ts';
import { activityPhases } from './phases.ts';
import { benchConfig, benchWorker, here, type BenchTemporal } from './setup.ts';

const STEP = 10 * 60 * 1_000_000;
const rate = (points: number, seconds: number) => Math.round(points / seconds).toLocaleString('en-US');

/** CPU seconds (user + system) a process has used so far; 0 when it cannot be read. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // clock ticks, 100 a second on Linux
  } catch {
    return 0;
  }
}

/** CPU used while `fn` runs: the cold and hot Warp 10s, the Temporal server and this process (the worker). */
async function withCpu<T>(
  pids: { cold?: number; hot?: number; temporal?: number },
  fn: () => Promise<T>,
): Promise<{ value: T; cpu: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuSeconds(p)]));
  const self = process.cpuUsage();
  const value = await fn();
  const own = process.cpuUsage(self);
  const cpu: Record<string, number> = { self: (own.user + own.system) / 1e6 };
  for (const [k, p] of Object.entries(pids)) cpu[k] = cpuSeconds(p) - (before[k] ?? 0);
  return { value, cpu };
}
const cpuLine = (cpu: Record<string, number>) =>
  Object.entries(cpu)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');

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
  temporal: BenchTemporal;
  hosts?: number;
  seriesPerBatch?: number;
}): Promise<{ updatePointsPerSecond: number; restorePointsPerSecond: number; ratio: number }> {
  const { temporal } = opts;
  const { client } = temporal;
  const run = `rbench${Date.now().toString(36)}`;
  const storePath = path.join(DATA, 'bench', run);
  const month = '2001-04';
  const port = await freePort();
  const coldDir = mkdtempSync(path.join(tmpdir(), 'bench-cold-warp10-'));
  console.log(`restore benchmark: starting a second Warp 10 on port ${port} (the cold target)`);
  const cold = await startStandalone({ name: `warp10-bench-${port}`, dataDir: coldDir, port });
  process.env.BENCH_COLD_READ = cold.readToken;
  process.env.BENCH_COLD_WRITE = cold.writeToken;
  const config = benchConfig(
    run,
    storePath,
    [{ name: run, selector: { class: `~${run}a\\..*` }, seriesPerBatch: opts.seriesPerBatch ?? 100 }],
    {
      restoreTargets: [
        {
          name: 'cold',
          url: cold.url,
          readToken: { env: 'BENCH_COLD_READ' },
          writeToken: { env: 'BENCH_COLD_WRITE' },
        },
      ],
    },
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
    const worker = await benchWorker(temporal, rt, run);
    return worker.runUntil(client.workflow.execute(type, { taskQueue: run, workflowId, args }));
  };
  const coldClient = new Warp10Client({ url: cold.url });
  const pids = {
    cold: readPid(`warp10-bench-${port}`),
    hot: readPid('warp10'),
    temporal: readPid('temporal'),
  };
  try {
    for (const chunk of inputFormatChunks(plan))
      await rt.client.update(rt.tokens.write, rename(chunk, `${run}a`));
    const ref = { group: 'bench', dataset: run, month };
    const archived = (await execute('archive', archiveWorkflowId(ref), [ref])) as ArchiveResult;

    // The floor: the same points, already as text, posted to /api/v0/update of the cold instance.
    const bodies = [...inputFormatChunks(plan)].map((c) => rename(c, `${run}b`));
    const started = Date.now();
    const plainCpu = await withCpu(pids, async () => {
      for (const body of bodies) await coldClient.update(cold.writeToken, body);
    });
    const updateMs = Date.now() - started;
    // ... then read back over the month, as the restore's own check after each batch does.
    const readStarted = Date.now();
    const [readBack] = await httpRunner(coldClient).run<[number]>(here('plain-read.mc2'), {
      token: cold.readToken,
      // Its classes are `<run>b.cpu`, `<run>b.mem`…: one regex (FETCH's `~`).
      class: `~${run}b\\..*`,
      start: Number(r.startUs),
      end: Number(r.endUs) - 1,
    });
    const readMs = Date.now() - readStarted;
    if (readBack !== archived.points) {
      throw new Error(`the plain read-back found ${readBack} points, ${archived.points} were written`);
    }
    const updateSeconds = (updateMs + readMs) / 1000;
    console.log(
      `    plain: update ${(updateMs / 1000).toFixed(1)} s + read-back ${(readMs / 1000).toFixed(1)} s; CPU s ${cpuLine(plainCpu.cpu)}`,
    );

    const timed = async (target?: string) => {
      const t0 = Date.now();
      const req = { ...ref, ...(target ? { target } : {}) };
      const res = (await execute('restore', restoreWorkflowId(req, target), [req])) as RestoreResult;
      if (res.points !== archived.points) {
        throw new Error(`restore wrote ${res.points} points, the archive holds ${archived.points}`);
      }
      return { res, seconds: (Date.now() - t0) / 1000 };
    };
    /** Where a restore's time went, from its history: phase spans and the batches' own timings. */
    const breakdown = async (target: string | undefined, seconds: number) => {
      const req = { ...ref, ...(target ? { target } : {}) };
      const history = await client.workflow.getHandle(restoreWorkflowId(req, target)).fetchHistory();
      const at = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) =>
        Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
      const events = history.events ?? [];
      // Per activity type: the wall span and the lane time (phases.ts); the batches' own timings, summed.
      const phases = activityPhases(events);
      const sums = { readMs: 0, sendMs: 0, verifyMs: 0 };
      for (const e of events) {
        const payload = e.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
        const r = payload
          ? defaultPayloadConverter.fromPayload<{ timings?: typeof sums }>(payload)
          : undefined;
        if (r?.timings) for (const k of Object.keys(sums) as (keyof typeof sums)[]) sums[k] += r.timings[k];
      }
      const wall = (t: string) => (phases.get(t)?.wallMs ?? 0) / 1000;
      const lane = (t: string) => (phases.get(t)?.laneMs ?? 0) / 1000;
      const first = events[0] ? at(events[0]) : 0;
      const last = events.at(-1) ? at(events.at(-1)!) : 0;
      const f = (x: number) => `${x.toFixed(1)} s`;
      console.log(
        `    ${target ?? 'hot'}: total ${f(seconds)}, workflow ${f((last - first) / 1000)}; plan ${f(wall('planRestore'))}, check ${f(wall('checkRestoreBatch'))} (${f(lane('checkRestoreBatch'))} lane-s), restore ${f(wall('restoreBatch'))} (${f(lane('restoreBatch'))} lane-s: read+decode ${f(sums.readMs / 1000)}, send ${f(sums.sendMs / 1000)}, read-back ${f(sums.verifyMs / 1000)})`,
      );
    };
    const coldRun = await withCpu(pids, () => timed('cold'));
    const intoCold = coldRun.value;
    await breakdown('cold', intoCold.seconds);
    console.log(`    cold restore: CPU s ${cpuLine(coldRun.cpu)}`);
    const intoHot = await timed();
    await breakdown(undefined, intoHot.seconds);

    const u = archived.points / updateSeconds;
    const rs = archived.points / intoCold.seconds;
    const line = (label: string, seconds: number, extra = '') =>
      console.log(
        `  ${label.padEnd(48)} ${archived.series} series ${archived.points.toLocaleString('en-US')} points ${seconds.toFixed(1).padStart(5)} s ${rate(archived.points, seconds).padStart(9)} pts/s${extra}`,
      );
    console.log('restore benchmark (one run; Warp 10s, worker and store on this machine)');
    line('plain /api/v0/update + read-back (cold instance)', updateSeconds);
    line(
      'restore workflow into the cold instance',
      intoCold.seconds,
      ` (${intoCold.res.batches} batches, ${(intoCold.res.bytes / 2 ** 20).toFixed(1)} MiB of archive)`,
    );
    line('restore into the hot instance, right after archive', intoHot.seconds);
    console.log(`  restore / plain update + read-back (cold instance): ${(rs / u).toFixed(2)}x`);
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
