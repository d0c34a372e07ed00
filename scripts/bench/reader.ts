// npm run bench -- reader — the export reply parser alone, no Warp 10 needed. Generates a synthetic reply
// of WRAPped series in the shape archive-read.mc2 leaves (`[ [ [selector, points, first, last, wrapped],
// ... ] ]`, compact, as Warp 10 serialises its stack), then streams it from disk in 64 KiB chunks through
// each candidate, each in a child process of its own so that its peak RSS is its own. One run each. The
// hand-written scanner json-stream.ts had before is measured at a661e01 (BENCHMARKS.md).
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { topListItems } from '../../src/warp10/json-stream.ts';
import { DATA, ROOT, ensureDir } from '../stack/common.ts';

type Reader = (body: AsyncIterable<Uint8Array>) => AsyncIterable<unknown>;

/** The candidates, each as a drop-in for topListItems. Libraries are imported only in their own child. */
const READERS: Record<string, () => Promise<Reader>> = {
  'json-stream.ts (@streamparser/json)': async () => topListItems,
  'stream-json (parser, pick, streamArray)': async () => {
    const [{ Readable }, { default: chain }, { parser }, { pick }, { streamArray }] = await Promise.all([
      import('node:stream'),
      import('stream-chain'),
      import('stream-json'),
      import('stream-json/filters/pick.js'),
      import('stream-json/streamers/stream-array.js'),
    ]);
    return async function* (body) {
      const pipeline = chain([
        Readable.from(body),
        parser({ packValues: true, streamValues: false }),
        pick({ filter: '0' }),
        streamArray(),
      ]);
      for await (const { value } of pipeline as AsyncIterable<{ value: unknown }>) yield value;
    };
  },
};

const OPB64 = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';

/** Writes a reply of `series` series, WRAPped strings from 0.5 to 60 KiB (mean about 30), seeded. */
async function writeReply(file: string, series: number): Promise<number> {
  let seed = 42;
  const random = () => {
    // mulberry32: the same reply on every run.
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const alphabet = Buffer.from(OPB64);
  const out = createWriteStream(file);
  let bytes = 0;
  const write = async (s: string | Buffer) => {
    bytes += s.length;
    if (!out.write(s)) await once(out, 'drain');
  };
  await write('[[');
  const start = 1_790_000_000_000_000;
  for (let i = 0; i < series; i++) {
    const points = i % 50 === 49 ? 0 : 1 + Math.floor(random() * 4464);
    const sel = `bench.cpu{core=${i % 8},dc=par${i % 3},host=host-${String(i >> 3).padStart(5, '0')}%2Cx}`;
    const head = JSON.stringify([sel, points, points ? start : null, points ? start + points * 600e6 : null]);
    const wrapped = Buffer.allocUnsafe(points === 0 ? 12 : 512 + Math.floor(random() * 60 * 1024));
    for (let j = 0; j < wrapped.length; j++) wrapped[j] = alphabet[Math.floor(random() * 64)] ?? 0x2d;
    await write(`${i === 0 ? '' : ','}${head.slice(0, -1)},"`);
    await write(wrapped);
    await write('"]');
  }
  await write(']]');
  out.end();
  await once(out, 'finish');
  return bytes;
}

interface ChildResult {
  ms: number;
  rssGrowthMiB: number;
  items: number;
  points: number;
  wrappedChars: number;
}

/** In the child: parse the file with one reader, report time and peak RSS above the start. */
async function measure(name: string, file: string): Promise<ChildResult> {
  const load = READERS[name];
  if (!load) throw new Error(`unknown reader ${name}`);
  const reader = await load();
  global.gc?.();
  const base = process.memoryUsage().rss;
  const started = performance.now();
  let items = 0;
  let points = 0;
  let wrappedChars = 0;
  for await (const item of reader(createReadStream(file, { highWaterMark: 64 * 1024 }))) {
    const [, n, , , wrapped] = item as [string, number, number | null, number | null, string];
    items++;
    points += n;
    wrappedChars += wrapped.length;
  }
  const ms = performance.now() - started;
  // maxRSS is the process's high-water mark in KiB, so no sample between two polls is missed.
  const rssGrowthMiB = (process.resourceUsage().maxRSS * 1024 - base) / 2 ** 20;
  return { ms, rssGrowthMiB, items, points, wrappedChars };
}

export async function benchReader(series = 4_000): Promise<void> {
  const file = path.join(ensureDir(path.join(DATA, 'bench')), 'export-reply.json');
  const bytes = await writeReply(file, series);
  console.log(
    `export reply parser (one run each, own process; ${series} WRAPped series, ${(bytes / 1e6).toFixed(0)} MB)`,
  );
  try {
    const results: ChildResult[] = [];
    for (const name of Object.keys(READERS)) {
      const child = spawnSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', path.join(ROOT, 'scripts', 'bench', 'reader.ts'), name, file],
        { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 },
      );
      if (child.status !== 0) throw new Error(`${name} failed:\n${child.stderr}`);
      const r = JSON.parse(child.stdout) as ChildResult;
      results.push(r);
      console.log(
        `${name.padEnd(42)} ${(r.ms / 1000).toFixed(2).padStart(6)} s ${(bytes / 1e6 / (r.ms / 1000)).toFixed(0).padStart(5)} MB/s  ` +
          `peak RSS +${r.rssGrowthMiB.toFixed(0)} MiB  ${r.items} items`,
      );
    }
    const [first] = results;
    const same = results.every(
      (r) => r.items === first?.items && r.points === first.points && r.wrappedChars === first.wrappedChars,
    );
    console.log(same ? 'every reader yielded the same items' : 'THE READERS DISAGREE on the items');
  } finally {
    rmSync(file, { force: true });
  }
}

// Child mode: `reader.ts <reader name> <file>` prints its result as JSON.
if (process.argv[1] && path.resolve(process.argv[1]) === path.join(ROOT, 'scripts', 'bench', 'reader.ts')) {
  const [name, file] = process.argv.slice(2);
  if (!name || !file) throw new Error('usage: reader.ts <reader name> <reply file>');
  process.stdout.write(JSON.stringify(await measure(name, file)));
}
