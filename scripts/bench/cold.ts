// `npm run bench -- cold`: the archive as a cold tier, side by side in one run. One class of 200,000
// UUID-labelled series x 10 points (the scale bench's shape; BENCH_COLD_SERIES picks another size):
//   1. before the archive, on the live Warp 10: FETCH of the whole month and of one series (the floor);
//   2. the archive workflow (default configuration) into the local defaults' store, which the stack's
//      Warp 10 reads through ARCHIVE.FETCH (warp10-extension/);
//   3. after: ARCHIVE.FETCH of the same series and of the whole month (same script, FETCH swapped), the
//      bytes each reads (its members, and the month's index it reads) against reading the series' whole
//      batch object, and archive bytes per point with the seekable layout against one gzip member.
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { monthPrefix, type MonthRef } from '../../src/archive/layout.ts';
import { readBatchManifest, readMonthManifest } from '../../src/archive/read.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { LOCAL_ARCHIVE } from '../stack/extension.ts';
import { monthManifestKey } from '../../src/archive/layout.ts';
import { publishMonths } from '../../src/archive/catalog-store.ts';
import { uuidShape } from './scale.ts';
import {
  benchConfig,
  benchWorker,
  connectTemporal,
  here,
  median,
  monthBounds,
  requireWarp10,
  runArchive,
} from './setup.ts';

const MONTH = '2001-05';
const QUERY = here('cold-fetch.mc2');
const REPEAT = 5;
const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;

export async function benchCold(): Promise<void> {
  requireWarp10();
  const series = Number(process.env.BENCH_COLD_SERIES ?? 200_000);
  const cls = `cold${Date.now().toString(36)}`;
  const ref: MonthRef = { group: 'bench', dataset: cls, month: MONTH };
  // The store is the one the stack's ARCHIVE.FETCH reads (archive.fetch.dir).
  const config = benchConfig(cls, LOCAL_ARCHIVE, [{ name: cls, selector: { class: cls } }], {
    lateData: { lateness: '0 minutes' },
  });
  const rt = buildRuntime(config, { log: () => {} });
  const [S, E] = monthBounds(MONTH);
  const window = { start: S, end: E - 1 };
  const query = async (selector: string, archive: boolean) => {
    const t = performance.now();
    const [[n, points]] = await rt.runner.run<[[number, number]]>(QUERY, {
      token: rt.tokens.read,
      selector,
      ...window,
      archive,
    });
    return { ms: performance.now() - t, series: n, points };
  };
  const repeat = async (selector: string, archive: boolean, times: number) => {
    const runs = [];
    for (let i = 0; i < times; i++) runs.push(await query(selector, archive));
    return {
      first: runs[0]!,
      medianMs: median(runs.map((r) => r.ms)),
      bestMs: Math.min(...runs.map((r) => r.ms)),
    };
  };

  const temporal = await connectTemporal();
  try {
    console.log(`cold-tier benchmark: ${series.toLocaleString('en-US')} series x 10 points, month ${MONTH}`);
    let one: string | undefined;
    for (const chunk of uuidShape(series, MONTH).lines(cls)) {
      // The first series of the class: `<ts>// <class>{labels} <value>`.
      one ??= chunk[0]!.split(' ')[1]!.replace(/^\/\/\s*/, '');
      await rt.client.update(rt.tokens.write, chunk.join('\n'));
    }
    const monthSel = `${cls}{}`;
    const liveMonth = await repeat(monthSel, false, 3);
    const liveOne = await repeat(one!, false, REPEAT);

    const worker = await benchWorker(temporal, rt, cls);
    const { ms: archiveMs, result } = await runArchive(temporal, worker, cls, ref);
    if (result.status !== 'archived') throw new Error(`the archive ended ${result.status}`);

    const coldOne = await repeat(one!, true, REPEAT);
    const coldMonth = await repeat(monthSel, true, 3);
    for (const [label, live, cold] of [
      ['one series', liveOne.first, coldOne.first],
      ['month', liveMonth.first, coldMonth.first],
    ] as const) {
      if (live.points !== cold.points || live.series !== cold.series) {
        throw new Error(
          `${label}: ARCHIVE.FETCH found ${cold.series} series / ${cold.points} points, FETCH found ${live.series} / ${live.points}`,
        );
      }
    }

    // The manifests name a series as TOSELECTOR does (with Warp 10's `.app` label first).
    const labels = one!.slice(one!.indexOf('{') + 1);
    const isOne = (s: { selector: string }) =>
      s.selector.startsWith(`${cls}{`) && s.selector.endsWith(`,${labels}`);
    // What ARCHIVE.FETCH reads: manifest.json, the month index's footer and the block holding the series
    // (docs/ARCHIVE-LAYOUT.md), then its member.
    const month = await readMonthManifest(rt.store, ref);
    if (!month) throw new Error('the month has no manifest');
    const file = (key: string) => path.join(LOCAL_ARCHIVE, key);
    let indexBytes = statSync(file(`${monthPrefix(ref)}manifest.json`)).size;
    const full = JSON.parse(readFileSync(file(`${monthPrefix(ref)}manifest.json`), 'utf8')) as {
      index?: { key: string; footer: { offset: number; bytes: number } };
    };
    if (full.index) {
      const body = readFileSync(file(full.index.key));
      const f = full.index.footer;
      const footer = JSON.parse(gunzipSync(body.subarray(f.offset, f.offset + f.bytes)).toString()) as {
        blocks: { first: string; last: string; bytes: number }[];
      };
      const selector = `${cls}{.app=offloader,${labels}`;
      const block = footer.blocks.find((b) => b.first <= selector && selector <= b.last);
      indexBytes += f.bytes + (block?.bytes ?? 0);
    }
    let memberBytes = 0;
    let batchBytes = 0;
    let data = 0;
    let single = 0;
    for (const b of month.batches) {
      const bm = await readBatchManifest(rt.store, ref, b.batch);
      if (!bm) throw new Error(`batch ${b.batch} has no manifest`);
      const obj = readFileSync(file(bm.object.key));
      data += obj.length;
      single += gzipSync(gunzipSync(obj)).length;
      const entry = bm.series.find(isOne);
      if (entry?.member !== undefined && bm.object.members) {
        memberBytes = bm.object.members[entry.member]!.bytes;
        batchBytes = bm.object.bytes;
      }
    }
    // Reading the series' whole batch object, as a reader without the members would (read + gunzip).
    const wholeMs: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const t = performance.now();
      for (const b of month.batches) {
        const bm = await readBatchManifest(rt.store, ref, b.batch);
        if (!bm) throw new Error(`batch ${b.batch} has no manifest`);
        if (!bm.series.some(isOne)) continue;
        gunzipSync(readFileSync(file(bm.object.key)))
          .toString('latin1')
          .split('\n')
          .filter((l) => l.length > 0);
      }
      wholeMs.push(performance.now() - t);
    }

    const ms = (x: number) => `${x.toFixed(0)} ms`;
    const pps = (points: number, t: number) => Math.round(points / (t / 1000)).toLocaleString('en-US');
    console.log(
      `  archive: ${(archiveMs / 1000).toFixed(1)} s, ${result.batches} batches, ${result.points.toLocaleString('en-US')} points`,
    );
    console.log('');
    console.log(
      '| query | FETCH before the archive (live) | ARCHIVE.FETCH (archive) | ratio (live / archive time) |',
    );
    console.log('|---|---|---|---|');
    console.log(
      `| one series by exact selector (first; median of ${REPEAT}) | ${ms(liveOne.first.ms)}; ${ms(liveOne.medianMs)} | ${ms(coldOne.first.ms)}; ${ms(coldOne.medianMs)} | ${(liveOne.medianMs / coldOne.medianMs).toFixed(2)}x |`,
    );
    console.log(
      `| the whole month, ${liveMonth.first.points.toLocaleString('en-US')} points (first; best of 3, its points/s) | ${ms(liveMonth.first.ms)}; ${ms(liveMonth.bestMs)} (${pps(liveMonth.first.points, liveMonth.bestMs)} pts/s) | ${ms(coldMonth.first.ms)}; ${ms(coldMonth.bestMs)} (${pps(coldMonth.first.points, coldMonth.bestMs)} pts/s) | ${(liveMonth.bestMs / coldMonth.bestMs).toFixed(2)}x |`,
    );
    console.log('');
    console.log(
      `  one series: ARCHIVE.FETCH reads its member (${kib(memberBytes)}), manifest.json and the month index's footer and one block (${kib(indexBytes)}): ${kib(memberBytes + indexBytes)}; its whole batch object is ${kib(batchBytes)} (read + gunzip: ${ms(median(wholeMs))}, median of ${REPEAT})`,
    );
    console.log(
      `  archive bytes per point: ${(data / result.points).toFixed(2)} with members against ${(single / result.points).toFixed(2)} as one gzip member (${((data / single - 1) * 100).toFixed(2)} %)`,
    );
  } finally {
    // Uncommitted first, so that its month leaves the catalog the stack's Warp 10 reads, then gone.
    await rt.store.delete(monthManifestKey(ref));
    await publishMonths(rt.store, [ref]).catch((err: unknown) =>
      console.error(`catalog not cleaned: ${(err as Error).message}`),
    );
    rmSync(path.join(LOCAL_ARCHIVE, ref.group, ref.dataset), { recursive: true, force: true });
    await rt.close();
    await temporal.close();
  }
}
