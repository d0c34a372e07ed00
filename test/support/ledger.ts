// "0 points lost", checked point by point: every point written is in the archive (batch objects read
// back through stock UNWRAP) or still live in Warp 10 — exactly one of them once a month is archived —
// and no point is archived twice. For months of many series, ticks by series decoded without Warp 10.
import assert from 'node:assert/strict';
import { gzipLines } from '../../src/archive/lines.ts';
import { batchManifestKey, monthPrefix, type MonthRef } from '../../src/archive/layout.ts';
import { BatchManifestSchema, type BatchManifest } from '../../src/archive/manifest.ts';
import { parseWrapper, walkEncoded } from '../../src/archive/wrap-decode.ts';
import type { ArchiveStore } from '../../src/store/types.ts';
import { dumpClass, storedLines, unwrapLines } from './points.ts';
import type { SeedSeries } from './seed.ts';
import type { Warp10Stack } from './stack.ts';

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
  const keys = (await store.list(prefix)).map((o) => o.key).filter((k) => k.endsWith('.wrap.gz'));
  const lines = await storedLines(store, keys);
  if (lines.length === 0) return [];
  return (await unwrapLines(unwrapIn, lines)).flatMap(([sel, ticks]) =>
    ticks.map((t) => `${ours(sel)}@${t}`),
  );
}

/** Every point of class `cls` still in Warp 10 `w`. */
export async function liveKeys(w: Warp10Stack, cls: string): Promise<string[]> {
  return (await dumpClass(w, cls)).flatMap(([sel, ticks]) => ticks.map((t) => `${ours(sel)}@${t}`));
}

/**
 * The ledger of one dataset-month: the points written (`seed`), and a look at where they are now — in
 * the month's archive under `store` (read back in `unwrapIn`, default `w`) or still live in `w`.
 */
export function pointLedger(p: {
  seed: SeedSeries[];
  store: ArchiveStore;
  ref: MonthRef;
  cls: string;
  w: Warp10Stack;
  unwrapIn?: Warp10Stack | undefined;
}) {
  return {
    written: writtenKeys(p.seed),
    ledger: async () => ({
      archived: await archivedKeys(p.store, monthPrefix(p.ref), p.unwrapIn ?? p.w),
      live: await liveKeys(p.w, p.cls),
    }),
  };
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

/** Points by series key, as ticks: written into a month, or held by its archive. */
export type TickLedger = Map<string, Set<number>>;

/** The manifests of an archived month's batches (`batches`: its month manifest's), each one deleted. */
export async function deletedBatches(
  store: ArchiveStore,
  ref: MonthRef,
  batches: { batch: number }[],
): Promise<BatchManifest[]> {
  const manifests: BatchManifest[] = [];
  for (const b of batches) {
    const m = BatchManifestSchema.parse(JSON.parse(await store.getText(batchManifestKey(ref, b.batch))));
    assert.equal(m.status, 'deleted');
    manifests.push(m);
  }
  return manifests;
}

/**
 * Every point of the batches' objects (each batch's own and its supplements: gzip, one WRAPped series a
 * line), decoded without Warp 10 (wrap-decode.ts: no UNWRAP request for 100,000 series), by series
 * `keyOf(class, labels)`. Fails on a point archived twice — unless `newest` is given: then a tick may be
 * archived again with another value (a rewrite, in a later supplement), and `newest` gets the last value
 * of every `key@tick` archived more than once, as readers apply them.
 */
export async function decodedTicks(
  store: ArchiveStore,
  batches: BatchManifest[],
  keyOf: (cls: string, labels: Record<string, string>) => string,
  newest?: Map<string, unknown>,
): Promise<TickLedger> {
  const values = new Map<string, unknown>();
  const archived: TickLedger = new Map();
  const objects = batches.flatMap((m) => [m.object, ...(m.supplements ?? []).map((x) => x.object)]);
  for (const o of objects) {
    for await (const line of gzipLines(await store.get(o.key))) {
      const wr = parseWrapper(line);
      const k = keyOf(wr.cls, wr.labels);
      const ticks = archived.get(k) ?? new Set<number>();
      walkEncoded(wr.encoded, wr.base, (p) => {
        const ts = Number(p.ts);
        const at = `${k}@${ts}`;
        if (newest && ticks.has(ts)) {
          assert.notDeepEqual(p.value, values.get(at), `${at} archived twice with the same value`);
          newest.set(at, p.value);
        } else assert.ok(!ticks.has(ts), `${k} @${ts} archived twice`);
        if (newest) values.set(at, p.value);
        ticks.add(ts);
      });
      archived.set(k, ticks);
    }
  }
  return archived;
}

/** The archive holds every written series, and each with exactly its written ticks. */
export function assertSameTicks(archived: TickLedger, written: TickLedger): void {
  assert.equal(archived.size, written.size, 'every series of the month is archived');
  for (const [k, ticks] of written) {
    assert.deepEqual([...(archived.get(k) ?? [])].sort(), [...ticks].sort(), `${k}`);
  }
}
