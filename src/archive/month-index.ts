// A committed month's lookup index (docs/ARCHIVE-LAYOUT.md, "The month index"): every archived series of
// the month sorted by selector, in gzip blocks of ~64 KiB of text, and a gzip JSON footer listing each
// block's first and last selector, offset, length and SHA-256. A reader finds one series with a range read
// of the footer (once), one of its block and one of its member, whatever the number of series and batches;
// ARCHIVE.FETCH reads it instead of parsing every batch manifest of the month.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { BatchManifest, MonthRange } from './manifest.ts';

export const INDEX_FORMAT = 'warp10-offloader/index@1';
/** Text of a block before gzip: a lookup decompresses one block, about 1,000 series of UUID labels. */
export const INDEX_BLOCK_BYTES = 64 * 1024;

/** Where a month's index object is, as manifest.json records it. */
export interface MonthIndexRef {
  format: typeof INDEX_FORMAT;
  key: string;
  bytes: number;
  sha256: string;
  footer: { offset: number; bytes: number; sha256: string };
  series: number;
  blocks: number;
}

export interface BuiltIndex {
  body: Buffer;
  ref: Omit<MonthIndexRef, 'key'>;
}

/** A part of an object holding a series: a gzip member, or (archives before members) the whole object. */
interface Part {
  object: string;
  offset: number;
  bytes: number;
  sha256: string;
  whole: boolean;
}

interface Ref {
  part: Part;
  points: number;
  first: number;
  last: number;
}

interface Entry {
  selector: string;
  attributes?: Record<string, string>;
  refs: Ref[];
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** UTF-16 code unit order, as Java's String.compareTo: the reader binary-searches the same order. */
const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** The object's name within the month: the reader resolves it under the month's own prefix only. */
const objectName = (key: string) => key.slice(key.lastIndexOf('/') + 1);

function addSeries(
  entries: Map<string, Entry>,
  object: BatchManifest['object'],
  series: BatchManifest['series'],
): void {
  for (const s of series) {
    if (s.points === 0 || s.first === null || s.last === null) continue;
    const m = s.member !== undefined ? object.members?.[s.member] : undefined;
    const part: Part = m
      ? { object: objectName(object.key), offset: m.offset, bytes: m.bytes, sha256: m.sha256, whole: false }
      : {
          object: objectName(object.key),
          offset: 0,
          bytes: object.bytes,
          sha256: object.sha256,
          whole: true,
        };
    let e = entries.get(s.selector);
    if (!e) {
      e = { selector: s.selector, refs: [] };
      entries.set(s.selector, e);
    }
    // The newest attributes seen (a supplement's, after the export's).
    if (s.attributes && Object.keys(s.attributes).length > 0) e.attributes = s.attributes;
    e.refs.push({ part, points: s.points, first: s.first, last: s.last });
  }
}

/**
 * The index of a month from its batch manifests (in batch order). A series' parts are listed export first,
 * then its supplements in order, as readers apply them (the newest value of a tick wins).
 */
export function buildMonthIndex(manifests: BatchManifest[], range: MonthRange): BuiltIndex {
  const entries = new Map<string, Entry>();
  for (const m of manifests) {
    addSeries(entries, m.object, m.series);
    for (const s of m.supplements ?? []) addSeries(entries, s.object, s.series);
  }
  const sorted = [...entries.values()].sort((a, b) => byCodeUnits(a.selector, b.selector));

  const chunks: Buffer[] = [];
  const blocks: {
    first: string;
    last: string;
    offset: number;
    bytes: number;
    sha256: string;
    series: number;
  }[] = [];
  let offset = 0;
  let i = 0;
  while (i < sorted.length) {
    // A block: its own table of the parts its series use, then a line a series.
    const parts = new Map<string, number>();
    const table: (string | number)[][] = [];
    const lines: string[] = [];
    let size = 0;
    const first = sorted[i]!.selector;
    while (i < sorted.length && (size < INDEX_BLOCK_BYTES || lines.length === 0)) {
      const e = sorted[i]!;
      const refs = e.refs.map((r) => {
        const id = `${r.part.object}\u0000${r.part.offset}`;
        let n = parts.get(id);
        if (n === undefined) {
          n = table.length;
          parts.set(id, n);
          table.push([r.part.object, r.part.offset, r.part.bytes, r.part.sha256, r.part.whole ? 1 : 0]);
        }
        return `${n}:${r.points}:${r.first}:${r.last}`;
      });
      // owner and producer: empty until the export records them (an index of this format carries none).
      const line = `${e.selector}\t\t\t${e.attributes ? JSON.stringify(e.attributes) : ''}\t${refs.join(',')}`;
      lines.push(line);
      size += line.length + 1;
      i++;
    }
    const text = `${JSON.stringify(table)}\n${lines.join('\n')}\n`;
    const gz = gzipSync(text);
    blocks.push({
      first,
      last: sorted[i - 1]!.selector,
      offset,
      bytes: gz.length,
      sha256: sha256(gz),
      series: lines.length,
    });
    chunks.push(gz);
    offset += gz.length;
  }
  const footer = gzipSync(
    JSON.stringify({
      format: INDEX_FORMAT,
      range: { startUs: range.startUs, endUs: range.endUs },
      series: sorted.length,
      blocks,
    }),
  );
  const body = Buffer.concat([...chunks, footer]);
  return {
    body,
    ref: {
      format: INDEX_FORMAT,
      bytes: body.length,
      sha256: sha256(body),
      footer: { offset, bytes: footer.length, sha256: sha256(footer) },
      series: sorted.length,
      blocks: blocks.length,
    },
  };
}

/** The index object's key: named by its content, so a reader's cache of it never goes stale. */
export const monthIndexKey = (monthPrefix: string, sha: string) =>
  `${monthPrefix}index-${sha.slice(0, 16)}.idx`;
