// Late data of a partition batch with a wrap digest: what is live in the batch that its objects do not
// hold as it is, found by the worker, not by a WarpScript loop. Two kinds of Warp 10 request, both of list
// functions only (a dozen operations however many series): one read of the batch as WRAPs
// (archive-read-partition.mc2), and the late points WRAPped from their input-format text
// (archive-encode.mc2), in chunks. The read's wrap digest becomes the batch's: every point of what it
// read is archived once the supplement is stored, and the guard deletes only if the batch is still
// exactly that.
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { gzipLines } from '../../archive/lines.ts';
import type { BatchManifest } from '../../archive/manifest.ts';
import { decodeWrapped, parseWrapper, walkEncoded, type DecodedPoint } from '../../archive/wrap-decode.ts';
import { formatValue, percent, seriesName } from '../../restore/input-format.ts';
import { wrapDigest } from '../../warp10/digest.ts';
import { topListItems } from '../../warp10/json-stream.ts';
import { nonRetryable } from '../failures.ts';
import { asPair, lastUs, streamPartition, type Warp10ActivityDeps } from './shared.ts';
import type { LateRow } from './late-row.ts';

/** Input-format text sent to Warp 10 in one archive-encode request, at most (a series is never split). */
const ENCODE_CHUNK_BYTES = 2 * 1024 * 1024;

/** The identity of a series in the worker: class and labels, in name order. */
function seriesKey(cls: string, labels: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return seriesName(cls, sorted);
}

/** Everything WRAPFAST would tell apart about a point but its tick: value and type, location, elevation. */
function fingerprint(p: DecodedPoint): string {
  const value = Buffer.isBuffer(p.value) ? p.value.toString('hex') : formatValue(p);
  return `${p.geo ?? ''}/${p.elev ?? ''}/${p.type}/${value}`;
}

export async function latePartitionRows(
  deps: Warp10ActivityDeps,
  m: BatchManifest,
): Promise<{ rows: LateRow[]; wrap: string }> {
  const { store, runner } = deps;
  const selector = m.partition!.selector;
  const start = BigInt(m.range.startUs);
  const end = BigInt(lastUs(m.range));
  const body = await streamPartition(deps, selector, m.range);
  const live: [string, string][] = [];
  for await (const raw of topListItems(body)) live.push(asPair(raw));
  const wrap = wrapDigest(live.map(([, w]) => w));

  // A series untouched since its export is live exactly as its line of the batch object.
  const exported = new Set<string>();
  for await (const line of gzipLines(await store.get(m.object.key))) exported.add(line);
  const supplemented = new Set((m.supplements ?? []).flatMap((s) => s.series.map((e) => e.selector)));
  const unchanged = new Set<string>();
  const changed = new Map<string, { selector: string; wrapped: string }>();
  for (const [sel, w] of live) {
    if (!supplemented.has(sel) && exported.has(w)) unchanged.add(w);
    else {
      const { cls, labels } = parseWrapper(w);
      changed.set(seriesKey(cls, labels), { selector: sel, wrapped: w });
    }
  }
  exported.clear();
  if (changed.size === 0) return { rows: [], wrap };

  // What the archive holds of the changed series: tick -> the last archived point there (the object,
  // then the supplements, in order).
  const archived = new Map<string, Map<string, string>>();
  const objects = [m.object, ...(m.supplements ?? []).map((x) => x.object)];
  for (const o of objects) {
    for await (const line of gzipLines(await store.get(o.key))) {
      if (unchanged.has(line)) continue;
      const w = parseWrapper(line);
      const key = seriesKey(w.cls, w.labels);
      if (!changed.has(key)) continue;
      let ticks = archived.get(key);
      if (!ticks) archived.set(key, (ticks = new Map()));
      walkEncoded(w.encoded, w.base, (p) => {
        const ts = BigInt(p.ts);
        if (ts >= start && ts <= end) ticks.set(String(p.ts), fingerprint(p));
      });
    }
  }

  // Live points the archive lacks (new ticks) or holds otherwise (rewrites), as input-format text.
  const rows = new Map<string, LateRow>();
  const texts: string[] = [];
  let n = 0;
  for (const [key, { selector: sel, wrapped }] of changed) {
    const w = parseWrapper(wrapped);
    const ticks = archived.get(key);
    const attrs = Object.entries(w.attributes)
      .map(([k, v]) => `${percent(k)}=${percent(v)}`)
      .join(',');
    const head = `${seriesName(w.cls, w.labels)}{${attrs}}`;
    const row: LateRow = {
      selector: sel,
      wrapped: null,
      points: 0,
      first: null,
      last: null,
      rewritten: 0,
      live: { selector: sel, points: 0, first: null, last: null },
    };
    const lines: string[] = [];
    walkEncoded(w.encoded, w.base, (p) => {
      const t = Number(p.ts);
      const l = row.live;
      l.points++;
      if (l.first === null || t < l.first) l.first = t;
      if (l.last === null || t > l.last) l.last = t;
      const had = ticks?.get(String(p.ts));
      const fp = fingerprint(p);
      if (had === fp) return;
      if (had !== undefined) row.rewritten++;
      row.points++;
      if (row.first === null || t < row.first) row.first = t;
      if (row.last === null || t > row.last) row.last = t;
      const at = `${p.ts}/${p.geo ?? ''}/${p.elev ?? ''}`;
      lines.push(lines.length === 0 ? `${at} ${head} ${formatValue(p)}` : `=${at} ${formatValue(p)}`);
    });
    rows.set(sel, row);
    if (lines.length > 0) texts.push(`${lines.join('\n')}\n`);
    if (++n % 1000 === 0) heartbeat({ compared: n });
  }

  // WRAPped by Warp 10, as the archive stores them, a chunk of series at a time.
  for (let i = 0; i < texts.length;) {
    let bytes = 0;
    const chunk: string[] = [];
    while (i < texts.length && (chunk.length === 0 || bytes + texts[i]!.length <= ENCODE_CHUNK_BYTES)) {
      bytes += texts[i]!.length;
      chunk.push(texts[i++]!);
    }
    const [pairs] = await runner.run<[unknown[]]>(
      'archive-encode',
      { text: chunk.join('') },
      cancellationSignal(),
    );
    if (!Array.isArray(pairs)) throw nonRetryable('WarpScriptError', 'unexpected archive-encode reply');
    if (pairs.length !== chunk.length)
      throw nonRetryable('WarpScriptError', `archive-encode made ${pairs.length} series of ${chunk.length}`);
    for (const raw of pairs) {
      const [sel, w] = asPair(raw);
      const row = rows.get(sel);
      if (!row || row.wrapped !== null || row.points === 0)
        throw nonRetryable('WarpScriptError', `archive-encode made an unexpected series ${sel}`);
      // What Warp 10 parsed is exactly the late points: no more, no fewer.
      const back = decodeWrapped(w);
      if (back.points !== row.points || back.first !== row.first || back.last !== row.last)
        throw nonRetryable('WarpScriptError', `archive-encode changed the late points of ${sel}`);
      row.wrapped = w;
    }
    heartbeat({ encoded: i });
  }
  return { rows: [...rows.values()], wrap };
}
