// `npm run bench -- cold-year`: the cold tier at the archive's size (issue 32), side by side in one run.
// One class of BENCH_YEAR_SERIES (200,000) UUID-labelled series x 10 points in each of BENCH_YEAR_MONTHS
// (12) months — the same series every month — and BENCH_YEAR_SMALL (50) small datasets (20 series each)
// in every month, archived month by month (every dataset of the month at once) into the store the stack's
// Warp 10 reads. One series over the whole year:
//   - FETCH before the archive (the floor; first query, then the median of 5);
//   - ARCHIVE.FETCH after a restart of Warp 10 (first query), then warm (median of 5), and a window
//     outside the archived months; store requests of each (ARCHIVE.STATS) and the Warp 10 heap after a
//     full GC before and after them (jcmd), against the cache bound.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import {
  archiveWorkflowId,
  batchManifestKey,
  monthManifestKey,
  monthPrefix,
  type MonthRef,
} from '../../src/archive/layout.ts';
import { BatchManifestSchema, MonthManifestSchema, type BatchManifest } from '../../src/archive/manifest.ts';
import { buildMonthIndex } from '../../src/archive/month-index.ts';
import { activityPhases } from './phases.ts';
import { publishMonths } from '../../src/archive/catalog-store.ts';
import { readJson } from '../../src/activities/store-json.ts';
import { seriesOwners } from '../../src/activities/warp10/owners.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { readPid } from '../stack/common.ts';
import { LOCAL_ARCHIVE } from '../stack/extension.ts';
import { warp10Down, warp10Up } from '../stack/warp10.ts';
import {
  benchConfig,
  benchWorker,
  connectTemporal,
  here,
  median,
  monthBounds,
  requireWarp10,
} from './setup.ts';

const QUERY = here('cold-fetch.mc2');
const REPEAT = 5;
/** Queries run before the measured ones, so that both sides are measured with their code compiled. */
const WARMUP = 5;
/** Warp 10 restarts, each followed by one first query: the first query's time is their median. */
const COLD_RUNS = 3;

const hex = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);
/** Series `i` of app `a`: the same labels every month. */
function bigSeries(cls: string, tag: string, a: number, i: number): string {
  const h = hex(`${tag}-${a}`, 32);
  const app = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  return `${cls}{app=${app},inst=${hex(`${tag}-${a}-${i}`, 8)},zone=par${i % 3}}`;
}
/** The same series every month: labels derived from the series' number. */
function bigLines(cls: string, tag: string, series: number, month: string): Generator<string[]> {
  const [S, E] = monthBounds(month);
  const step = Math.floor((E - S) / 10);
  return (function* () {
    const out: string[] = [];
    for (let a = 0; a < series / 4; a++) {
      for (let i = 0; i < 4; i++) {
        const name = bigSeries(cls, tag, a, i);
        for (let p = 0; p < 10; p++) {
          const ts = S + p * step + (a % 1000);
          out.push(p === 0 ? `${ts}// ${name} ${(a + p) % 100}` : `=${ts}// ${p}`);
        }
      }
      if (out.length >= 200_000) yield out.splice(0);
    }
    if (out.length > 0) yield out;
  })();
}

interface Stats {
  store: { listings: number; gets: number; ranges: number; heads: number; requests: number; bytes: number };
  cache: { bytes: number; 'max.bytes': number; lines: { bytes: number; 'max.bytes': number } };
  'preload.ms': number;
}

function heapUsedMiB(): number | undefined {
  const pid = readPid('warp10');
  if (pid === undefined) return undefined;
  spawnSync('jcmd', [String(pid), 'GC.run'], { encoding: 'utf8' });
  const info = spawnSync('jcmd', [String(pid), 'GC.heap_info'], { encoding: 'utf8' }).stdout ?? '';
  const used = /used (\d+)K/.exec(info)?.[1];
  return used === undefined ? undefined : Number(used) / 1024;
}

export async function benchColdYear(): Promise<void> {
  requireWarp10();
  const series = Number(process.env.BENCH_YEAR_SERIES ?? 200_000);
  const monthsN = Number(process.env.BENCH_YEAR_MONTHS ?? 12);
  const smallN = Number(process.env.BENCH_YEAR_SMALL ?? 50);
  const tag = Date.now().toString(36);
  const big = `yr${tag}`;
  const months = Array.from({ length: monthsN }, (_, i) => `2002-${String(i + 1).padStart(2, '0')}`);
  const datasets = [
    { name: big, selector: { class: big } },
    ...Array.from({ length: smallN }, (_, i) => ({
      name: `${big}s${i}`,
      selector: { class: `${big}.s${i}` },
    })),
  ];
  const config = benchConfig(big, LOCAL_ARCHIVE, datasets, { lateData: { lateness: '0 minutes' } });
  let rt = buildRuntime(config, { log: () => {} });
  const [S] = monthBounds(months[0]!);
  const [, E] = monthBounds(months.at(-1)!);
  const temporal = await connectTemporal();
  const stats = async () => (await rt.runner.run<[Stats]>(statsScript(), { token: rt.tokens.read }))[0];
  const preloads: number[] = [];
  /** A fresh Warp 10, once the extension's start-up read-ahead is over (both sides measured after it). */
  const restart = async () => {
    await rt.close();
    await warp10Down();
    await warp10Up();
    rt = buildRuntime(config, { log: () => {} });
    for (const t = performance.now(); performance.now() - t < 60_000;) {
      const ms = (await stats())['preload.ms'];
      if (ms >= 0) {
        preloads.push(ms);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the extension did not finish its start-up read-ahead in 60 s');
  };
  const query = async (selector: string, archive: boolean, start = S, end = E - 1) => {
    const t = performance.now();
    const [[n, points]] = await rt.runner.run<[[number, number]]>(QUERY, {
      token: rt.tokens.read,
      selector,
      start,
      end,
      archive,
    });
    return { ms: performance.now() - t, series: n, points };
  };
  const one = bigSeries(big, tag, 0, 0);
  try {
    console.log(
      `cold tier, a year: ${series.toLocaleString('en-US')} series x 10 points x ${monthsN} months, and ${smallN} small datasets (20 series) every month`,
    );
    // Other series, spread over the class, for queries whose members no query read before.
    const others = Array.from({ length: REPEAT }, (_, k) =>
      bigSeries(big, tag, Math.floor(((k + 1) * series) / 4 / (REPEAT + 1)), k % 4),
    );
    const t0 = performance.now();
    for (const month of months) {
      for (const chunk of bigLines(big, tag, series, month)) {
        await rt.client.update(rt.tokens.write, chunk.join('\n'));
      }
      const [Sm] = monthBounds(month);
      const lines: string[] = [];
      for (let d = 0; d < smallN; d++)
        for (let s = 0; s < 20; s++)
          for (let p = 0; p < 10; p++)
            lines.push(`${Sm + p * 3_600_000_000}// ${big}.s${d}{host=h${s}} ${p}`);
      await rt.client.update(rt.tokens.write, lines.join('\n'));
    }
    console.log(`  seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // FETCH's first query after a restart too, as ARCHIVE.FETCH's below: like against like.
    const liveFirst = [];
    for (let r = 0; r < COLD_RUNS; r++) {
      await restart();
      // A full GC before each side's first query (ARCHIVE.FETCH's needs one for its heap measure): the
      // young collections that follow Warp 10's start then fall on neither.
      heapUsedMiB();
      liveFirst.push(await query(one, false));
    }
    for (let i = 0; i < WARMUP; i++) await query(one, false);
    const live = [];
    for (let i = 0; i < REPEAT; i++) live.push(await query(one, false));
    const liveOthers = [];
    for (const o of others) liveOthers.push(await query(o, false));

    const worker = await benchWorker(temporal, rt, big);
    const t1 = performance.now();
    const monthMs: number[] = [];
    // One worker for every month (a worker runs once): the monthly run's shape, month after month.
    await worker.runUntil(async () => {
      for (const month of months) {
        const tm = performance.now();
        await Promise.all(
          datasets.map((d) => {
            const ref: MonthRef = { group: 'bench', dataset: d.name, month };
            return temporal.client.workflow.execute('archive', {
              taskQueue: big,
              workflowId: `${archiveWorkflowId(ref)}-${big}`,
              args: [ref],
            });
          }),
        );
        monthMs.push(performance.now() - tm);
        console.log(
          `  ${month}: ${datasets.length} datasets archived in ${((performance.now() - tm) / 1000).toFixed(1)} s`,
        );
      }
    });
    console.log(
      `  archived ${monthsN * datasets.length} dataset-months in ${((performance.now() - t1) / 1000).toFixed(1)} s`,
    );

    // The big class's first month: its index against its data, and what writing it costs (the owners
    // asked of Warp 10, the index built from the batch manifests, stored), against the month's archive.
    const ref0: MonthRef = { group: 'bench', dataset: big, month: months[0]! };
    // As the commit does it: the owners asked while the batch manifests (read with or without an index)
    // are; what the index adds is the wait for the owners after that, the build and the put.
    const m0 = await readJson(rt.store, monthManifestKey(ref0), MonthManifestSchema);
    if (!m0?.index) throw new Error(`${monthManifestKey(ref0)} names no index`);
    const tAsk = performance.now();
    const asked = seriesOwners(rt, { class: big, labels: {} }, { warn: (m) => console.error(m) });
    const manifests: BatchManifest[] = [];
    // 16 at a time, as the commit reads them.
    for (let i = 0; i < m0.batches.length; i += 16) {
      const read = m0.batches
        .slice(i, i + 16)
        .map((b) => readJson(rt.store, batchManifestKey(ref0, b.batch), BatchManifestSchema));
      for (const m of await Promise.all(read)) manifests.push(m!);
    }
    const tIndex = performance.now();
    const owners = await asked;
    const ownersMs = performance.now() - tAsk;
    const built = buildMonthIndex(manifests, m0.range, owners);
    await rt.store.put(`${monthPrefix(ref0)}index-bench.idx`, built.body);
    const indexMs = performance.now() - tIndex;
    await rt.store.delete(`${monthPrefix(ref0)}index-bench.idx`);
    // What the index added to that month's archive run itself: it is staged while the last batches are
    // deleted (stageMonthIndex); the commit waits only for what is left of it, and takes it.
    const runPhases = new Map();
    const id0 = `${archiveWorkflowId(ref0)}-${big}`;
    for await (const info of temporal.client.workflow.list({ query: `WorkflowId = '${id0}'` })) {
      activityPhases(
        (await temporal.client.workflow.getHandle(id0, info.runId).fetchHistory()).events ?? [],
        runPhases,
      );
    }
    const span = (k: string) => ((runPhases.get(k)?.wallMs ?? 0) / 1000).toFixed(1);
    console.log(
      `  ${months[0]}'s archive run: index staged in ${span('stageMonthIndex')} s while the last batches were deleted (deletes ${span('deleteBatch')} s wall); commit ${span('commitMonth')} s`,
    );
    console.log(
      `  ${months[0]}'s index: ${(m0.index.bytes / 1048576).toFixed(2)} MiB for ${(m0.bytes / 1048576).toFixed(2)} MiB of data (${(m0.index.bytes / m0.bytes).toFixed(3)}x), ${m0.index.blocks} blocks; writing it (the owners' answer awaited once the batch manifests are read — ${(ownersMs / 1000).toFixed(1)} s after they were asked —, the build, the put) ${(indexMs / 1000).toFixed(1)} s = ${((indexMs / monthMs[0]!) * 100).toFixed(1)} % of that month's archive (${(monthMs[0]! / 1000).toFixed(1)} s, every dataset)`,
    );

    // A fresh Warp 10: nothing of the archive in its heap.
    const colds = [];
    let heap0: number | undefined;
    let s0: Stats | undefined;
    let s1: Stats | undefined;
    for (let r = 0; r < COLD_RUNS; r++) {
      await restart();
      heap0 = heapUsedMiB();
      s0 = await stats();
      colds.push(await query(one, true));
      s1 = await stats();
    }
    const cold = { ...colds[0]!, ms: median(colds.map((c) => c.ms)) };
    for (let i = 0; i < WARMUP; i++) await query(one, true);
    const s1w = await stats();
    const warm = [];
    const warmReq: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const before = await stats();
      warm.push(await query(one, true));
      warmReq.push((await stats()).store.requests - before.store.requests);
    }
    const s2 = await stats();
    const warmOthers = [];
    for (const o of others) warmOthers.push(await query(o, true));
    const s2b = await stats();
    const [S3] = monthBounds('2003-03');
    const [, E3] = monthBounds('2003-04');
    const outside = await query(one, true, S3, E3 - 1);
    const s3 = await stats();
    const heap1 = heapUsedMiB();
    for (const [i, r] of warmOthers.entries()) {
      if (r.points !== liveOthers[i]!.points || r.series !== 1)
        throw new Error(
          `ARCHIVE.FETCH found ${r.series} series / ${r.points} points of ${others[i]}, FETCH ${liveOthers[i]!.points}`,
        );
    }
    for (const r of [...colds, ...warm]) {
      if (r.points !== live[0]!.points || r.series !== live[0]!.series)
        throw new Error(
          `ARCHIVE.FETCH found ${r.series} series / ${r.points} points, FETCH ${live[0]!.series} / ${live[0]!.points}`,
        );
    }
    const d = (a: Stats, b: Stats) => {
      const x = b.store;
      const y = a.store;
      return `${x.requests - y.requests} (${x.listings - y.listings} listing, ${x.heads - y.heads} HEAD, ${x.gets - y.gets} GET, ${x.ranges - y.ranges} range GET; ${((x.bytes - y.bytes) / 1024).toFixed(0)} KiB)`;
    };
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    const liveMedian = median(live.map((r) => r.ms));
    const liveCold = median(liveFirst.map((r) => r.ms));
    const all = (xs: { ms: number }[]) => xs.map((x) => x.ms.toFixed(0)).join(', ');
    const warmMedian = median(warm.map((r) => r.ms));
    console.log('');
    console.log(
      `one series over ${monthsN} months (${live[0]!.points} points), ${monthsN * datasets.length} dataset-months in the store:`,
    );
    console.log('');
    console.log('| | time | store requests |');
    console.log('|---|---|---|');
    console.log(
      `| FETCH before the archive: first query after a Warp 10 restart (median of ${COLD_RUNS}: ${all(liveFirst)}); warm, median of ${REPEAT} after ${WARMUP} | ${ms(liveCold)}; ${ms(liveMedian)} | — |`,
    );
    console.log(
      `| FETCH before the archive: ${REPEAT} other series, median | ${ms(median(liveOthers.map((r) => r.ms)))} | — |`,
    );
    console.log(
      `| ARCHIVE.FETCH, first query after a Warp 10 restart (median of ${COLD_RUNS}: ${all(colds)}) | ${ms(cold.ms)} (${(cold.ms / liveCold).toFixed(2)}x FETCH's first) | the last: ${d(s0!, s1!)} |`,
    );
    console.log(
      `| ARCHIVE.FETCH warm, median of ${REPEAT} after ${WARMUP} | ${ms(warmMedian)} (speed ${(liveMedian / warmMedian).toFixed(2)}x FETCH's) | ${median(warmReq)} a query; all ${REPEAT}: ${d(s1w, s2)} |`,
    );
    console.log(
      `| ARCHIVE.FETCH warm, ${REPEAT} other series (members not read before), median | ${ms(median(warmOthers.map((r) => r.ms)))} (speed ${(median(liveOthers.map((r) => r.ms)) / median(warmOthers.map((r) => r.ms))).toFixed(2)}x FETCH's) | all ${REPEAT}: ${d(s2, s2b)} |`,
    );
    console.log(
      `| ARCHIVE.FETCH of a window outside the archived months | ${ms(outside.ms)} | ${d(s2b, s3)} |`,
    );
    console.log('');
    console.log(
      `  Warp 10 heap after a full GC: ${heap0?.toFixed(0) ?? '?'} MiB before the queries, ${heap1?.toFixed(0) ?? '?'} MiB after (+${heap0 !== undefined && heap1 !== undefined ? (heap1 - heap0).toFixed(0) : '?'} MiB); the cache holds ${(s3.cache.bytes / 1048576).toFixed(1)} MiB of its ${(s3.cache['max.bytes'] / 1048576).toFixed(0)} MiB bound (lines read: ${(s3.cache.lines.bytes / 1048576).toFixed(1)} MiB of their ${(s3.cache.lines['max.bytes'] / 1048576).toFixed(0)}); the extension's start-up read-ahead took ${preloads.join(', ')} ms (restarts before the FETCH and the ARCHIVE.FETCH first queries; not counted in the requests above)`,
    );
  } finally {
    if (process.env.BENCH_YEAR_KEEP === '1') {
      // For profiling queries by hand: the archive stays, the series is printed.
      console.log(`  kept: the archive of ${big}; one series is ${one}`);
    } else {
      // Uncommitted first, so that their months leave the catalog the stack's Warp 10 reads, then gone.
      const refs = datasets.flatMap((ds) =>
        months.map((month) => ({ group: 'bench', dataset: ds.name, month })),
      );
      for (const ref of refs) await rt.store.delete(monthManifestKey(ref));
      await publishMonths(rt.store, refs).catch((err: unknown) =>
        console.error(`catalog not cleaned: ${(err as Error).message}`),
      );
      for (const ds of datasets)
        rmSync(path.join(LOCAL_ARCHIVE, 'bench', ds.name), { recursive: true, force: true });
    }
    await rt.close();
    await temporal.close();
  }
}

function statsScript(): string {
  return here('cold-stats.mc2');
}
