// "0 points lost", checked point by point: every point written is in the archive (batch objects read
// back through stock UNWRAP) or still live in Warp 10 — exactly one of them once a month is archived —
// and no point is archived twice.
import assert from 'node:assert/strict';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ArchiveStore } from '../../src/store/types.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { httpRunner } from '../../src/warp10/runner.ts';
import type { SeedSeries } from './seed.ts';
import type { Warp10Stack } from './stack.ts';

const DUMP = path.resolve(import.meta.dirname, 'warpscript', 'dump.mc2');
const UNWRAP = path.resolve(import.meta.dirname, 'warpscript', 'unwrap.mc2');

/** `n` series `cls{host=hNNN}` of `points` points each, `stepUs` apart from `start`, values 0, 1, … */
export function seedSeries(
  cls: string,
  n: number,
  points: number,
  start: number,
  stepUs: number,
): SeedSeries[] {
  return Array.from({ length: n }, (_, i) => ({
    cls,
    labels: { host: `h${String(i).padStart(3, '0')}` },
    points: Array.from({ length: points }, (_, p) => ({ ts: start + p * stepUs, value: p })),
  }));
}

/** One key per point: `selector@tick` (single-label series, as seedSeries writes them). */
export function writtenKeys(series: SeedSeries[]): string[] {
  return series.flatMap((s) => {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return s.points.map((p) => `${s.cls}{${labels}}@${p.ts}`);
  });
}

/** Every point of every batch object under `prefix`, read back through UNWRAP in the Warp 10 `unwrapIn`. */
export async function archivedKeys(
  store: ArchiveStore,
  prefix: string,
  unwrapIn: Warp10Stack,
): Promise<string[]> {
  const lines: string[] = [];
  for (const o of await store.list(prefix)) {
    if (!o.key.endsWith('.wrap.gz')) continue;
    const chunks: Buffer[] = [];
    for await (const c of await store.get(o.key)) chunks.push(Buffer.from(c));
    lines.push(
      ...gunzipSync(Buffer.concat(chunks))
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
  }
  if (lines.length === 0) return [];
  const c = new Warp10Client({ url: unwrapIn.url });
  try {
    const [rows] = await httpRunner(c).run<[[string, number[]][]]>(UNWRAP, { wrapped: lines });
    return rows.flatMap(([sel, ticks]) => ticks.map((t) => `${ours(sel)}@${t}`));
  } finally {
    await c.close();
  }
}

/** Every point of class `cls` still in Warp 10 `w`. */
export async function liveKeys(w: Warp10Stack, cls: string): Promise<string[]> {
  const c = new Warp10Client({ url: w.url });
  try {
    const [rows] = await httpRunner(c).run<[[string, number[]][]]>(DUMP, { token: w.readToken, class: cls });
    return rows.flatMap(([sel, ticks]) => ticks.map((t) => `${ours(sel)}@${t}`));
  } finally {
    await c.close();
  }
}

/** `cls{a=1,.app=x}` → `cls{a=1}`: Warp 10 adds its own `.app` label; the points are ours without it. */
function ours(selector: string): string {
  const open = selector.indexOf('{');
  const labels = selector
    .slice(open + 1, -1)
    .split(',')
    .filter((l) => l !== '' && !l.startsWith('.'));
  return `${selector.slice(0, open)}{${labels.join(',')}}`;
}

const dupes = (keys: string[]) => keys.filter((k, i) => keys.indexOf(k) !== i);

/**
 * The archived month's final state: each written point in exactly one of archive and Warp 10, none
 * archived twice, the archive holding exactly `inMonth` (the written points of the month).
 */
export function assertExactlyOnce(
  written: string[],
  state: { archived: string[]; live: string[] },
  inMonth?: (key: string) => boolean,
): void {
  const archived = new Set(state.archived);
  assert.equal(
    archived.size,
    state.archived.length,
    `archived twice: ${dupes(state.archived).slice(0, 5).join(' ')}`,
  );
  const live = new Set(state.live);
  const both = [...archived].filter((k) => live.has(k));
  assert.deepEqual(both.slice(0, 5), [], `${both.length} point(s) both archived and live`);
  const lost = written.filter((k) => !archived.has(k) && !live.has(k));
  assert.deepEqual(lost.slice(0, 5), [], `${lost.length} point(s) lost`);
  const all = new Set(written);
  const stray = [...archived, ...live].filter((k) => !all.has(k));
  assert.deepEqual(stray.slice(0, 5), [], `${stray.length} point(s) never written`);
  if (inMonth) {
    assert.deepEqual(
      [...archived].sort(),
      written.filter(inMonth).sort(),
      'the archive holds exactly the points of the month',
    );
  }
}

/** The month of key `selector@tick`, for assertExactlyOnce: start <= tick < end. */
export const tickIn = (start: number, end: number) => (key: string) => {
  const t = Number(key.slice(key.lastIndexOf('@') + 1));
  return t >= start && t < end;
};
