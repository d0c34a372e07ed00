// The archive benchmark: the offloader against a plain script doing the same Warp 10 work on the same data
// in the same run — FETCH + WRAP export (gzip to a file), one full read, one DELETE of the range — at
// batchConcurrency 1, 2 and 4, medians of the repetitions; and the worker's peak RSS at 1x and 10x the
// data, each archive in a worker process of its own (archive-worker.ts).
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inputFormatChunks } from '../../src/demo/synthetic.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { DATA, ROOT, ensureDir } from '../stack/common.ts';
import type { WorkerJob, WorkerReport } from './archive-worker.ts';
import type { BenchRow } from './table.ts';
import { activityPhases } from './phases.ts';
import {
  benchConfig,
  benchWorker,
  connectTemporal,
  median,
  monthBounds,
  plainFloor,
  requireWarp10,
  runArchive,
  secs,
} from './setup.ts';

const STEP = 30 * 60 * 1_000_000; // one point every 30 minutes: 1,488 a series in a 31-day month
const MONTH = '2001-01';
const HOSTS = 250; // x 8 cores = 2,000 series, 2,976,000 points

export interface ArchiveBenchOptions {
  repetitions: number;
  concurrencies: number[];
}

export async function benchArchive(opts: ArchiveBenchOptions): Promise<BenchRow[]> {
  requireWarp10();
  const temporal = await connectTemporal();
  const { client, workflowBundle } = temporal;
  const [S, E] = monthBounds(MONTH);
  let n = 0;

  function runtimeFor(cls: string, batchConcurrency: number, storePath: string): Runtime {
    const config = benchConfig(cls, storePath, [
      { name: cls, selector: { class: cls }, seriesPerBatch: 500, batchConcurrency },
    ]);
    return buildRuntime(config, { log: () => {} });
  }

  /** A fresh class holding `hosts` x 8 series of doubles over the month. */
  async function seed(rt: Runtime, hosts: number): Promise<string> {
    const prefix = `bench${Date.now().toString(36)}${n++}`;
    const plan = { hosts, cores: 8, clients: 0, stepUs: STEP, startUs: S, endUs: E };
    // Every class of the synthetic month gets this run's prefix; the dataset is the cpu one.
    for (const chunk of inputFormatChunks(plan)) {
      await rt.client.update(
        rt.tokens.write,
        chunk.replace(
          / (os\.cpu|os\.mem|os\.up|net\.bytes)\{/g,
          (_, c: string) => ` ${prefix}.${c.split('.')[1]}{`,
        ),
      );
    }
    const cls = `${prefix}.cpu`;
    return cls;
  }

  /** The offloader, plan → commit, on a worker in this process; phase times from the history. */
  async function offload(hosts: number, batchConcurrency: number) {
    const storePath = path.join(DATA, 'bench', `store-${Date.now().toString(36)}`);
    const seedRt = runtimeFor('seed', 1, storePath);
    const cls = await seed(seedRt, hosts);
    await seedRt.close();
    const rt = runtimeFor(cls, batchConcurrency, storePath);
    const worker = await benchWorker(temporal, rt, cls);
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const ref = { group: 'bench', dataset: cls, month: MONTH };
    const { workflowId, ms: totalMs, result } = await runArchive(temporal, worker, cls, ref);
    clearInterval(sampler);
    // Phase wall times: first scheduled to last completed activity of each type.
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const spans = activityPhases(history.events ?? []);
    const phase = (t: string) => spans.get(t)?.wallMs ?? 0;
    await rt.close();
    rmSync(storePath, { recursive: true, force: true });
    return {
      totalMs,
      exportMs: phase('exportBatch'),
      verifyMs: phase('verifyBatch'),
      deleteMs: phase('deleteBatch'),
      points: result.points,
      bytes: result.bytes,
      rssGrowthMiB: (peak - base) / 2 ** 20,
    };
  }

  /** The archive of a fresh `hosts` dataset in a worker process of its own: its peak RSS (VmHWM). */
  async function peak(hosts: number, batchConcurrency: number): Promise<WorkerReport> {
    const storePath = path.join(DATA, 'bench', `store-${Date.now().toString(36)}`);
    const seedRt = runtimeFor('seed', 1, storePath);
    const cls = await seed(seedRt, hosts);
    await seedRt.close();
    const job: WorkerJob = { cls, month: MONTH, storePath, batchConcurrency, bundlePath };
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'scripts', 'bench', 'archive-worker.ts'), JSON.stringify(job)],
      { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    rmSync(storePath, { recursive: true, force: true });
    if (child.status !== 0) throw new Error(`archive worker process failed:\n${child.stderr}`);
    return JSON.parse(child.stdout) as WorkerReport;
  }
  const bundlePath = path.join(
    ensureDir(path.join(DATA, 'bench')),
    `workflows-${Date.now().toString(36)}.js`,
  );
  writeFileSync(bundlePath, workflowBundle.code);

  console.log(`archive benchmark: ${HOSTS * 8} series x 1,488 doubles, medians of ${opts.repetitions}`);
  const floors: Awaited<ReturnType<typeof plainFloor>>[] = [];
  const runs = new Map<number, Awaited<ReturnType<typeof offload>>[]>();
  for (let r = 1; r <= opts.repetitions; r++) {
    const rt = runtimeFor('plain', 1, path.join(DATA, 'bench', 'unused'));
    const cls = await seed(rt, HOSTS);
    const p = await plainFloor(rt, cls, [S, E]);
    await rt.close();
    floors.push(p);
    console.log(
      `  rep ${r} plain: export ${secs(p.exportMs)}, read ${secs(p.readMs)}, delete ${secs(p.deleteMs)} (${p.points.toLocaleString('en-US')} points)`,
    );
    for (const c of opts.concurrencies) {
      const o = await offload(HOSTS, c);
      runs.set(c, [...(runs.get(c) ?? []), o]);
      console.log(
        `  rep ${r} offloader, batchConcurrency ${c}: ${secs(o.totalMs)} (export ${secs(o.exportMs)}, verify ${secs(o.verifyMs)}, delete ${secs(o.deleteMs)}), RSS +${o.rssGrowthMiB.toFixed(0)} MiB`,
      );
    }
  }
  // Peak RSS: each size in a worker process of its own, the small one first and again last (their mean
  // is the 1x figure) so that a noisy neighbour shows as a spread rather than as growth.
  const peaks: { x1: WorkerReport[]; x10: WorkerReport[] } = { x1: [], x10: [] };
  for (const [size, hosts] of [
    ['x1', HOSTS / 10],
    ['x10', HOSTS],
    ['x1', HOSTS / 10],
  ] as const) {
    const p = await peak(hosts, 2);
    peaks[size].push(p);
    console.log(
      `  worker process, ${(p.points / 1e6).toFixed(2)} M points: ${secs(p.totalMs)}, RSS ${(p.startRssKiB / 1024).toFixed(0)} MiB after start-up, peak ${(p.peakRssKiB / 1024).toFixed(0)} MiB`,
    );
  }
  rmSync(bundlePath, { force: true });

  const plainExport = median(floors.map((f) => f.exportMs));
  const floor = median(floors.map((f) => f.totalMs));
  const rows: BenchRow[] = [];
  for (const [c, os] of runs) {
    const exp = median(os.map((o) => o.exportMs));
    const total = median(os.map((o) => o.totalMs));
    rows.push({
      figure: `export phase, batchConcurrency ${c}`,
      offloader: secs(exp),
      plain: secs(plainExport),
      ratio: `${(plainExport / exp).toFixed(2)}x (plain / offloader time)`,
    });
    rows.push({
      figure: `whole safe archive, batchConcurrency ${c}`,
      offloader: secs(total),
      plain: `${secs(floor)} (export + read + delete)`,
      ratio: `${(floor / total).toFixed(2)}x (plain / offloader time)`,
    });
  }
  const one = median((runs.get(1) ?? runs.values().next().value ?? []).map((o) => o.totalMs));
  for (const [c, os] of runs) {
    const t = median(os.map((o) => o.totalMs));
    rows.push({
      figure: `speed-up, batchConcurrency ${c} vs 1`,
      offloader: secs(t),
      plain: `${secs(one)} (offloader at 1)`,
      ratio: `${(one / t).toFixed(2)}x`,
    });
  }
  const mib = (k: number) => `${(k / 1024).toFixed(0)} MiB`;
  const p1 = peaks.x1.reduce((n, p) => n + p.peakRssKiB, 0) / peaks.x1.length;
  const p1s = peaks.x1.map((p) => mib(p.peakRssKiB)).join(', ');
  const p10 = peaks.x10[0]!;
  rows.push({
    figure: 'worker peak RSS (VmHWM, own process), 10x vs 1x the data',
    offloader: `${mib(p10.peakRssKiB)} at ${(p10.points / 1e6).toFixed(2)} M points`,
    plain: `${p1s} at ${(peaks.x1[0]!.points / 1e6).toFixed(2)} M points (1x, run before and after)`,
    ratio: `${((p10.peakRssKiB / p1 - 1) * 100).toFixed(1)} % growth (vs the mean 1x peak)`,
  });
  await temporal.close();
  return rows;
}
