// A committed month's lookup index (docs/ARCHIVE-LAYOUT.md, "The month index"): every archived series of
// the month sorted by selector, in gzip blocks of ~64 KiB of text, and a gzip JSON footer listing each
// block's first and last selector, offset, length and SHA-256. A reader finds one series with a range read
// of the footer (once), one of its block and one of its member, whatever the number of series and batches;
// ARCHIVE.FETCH reads it instead of parsing every batch manifest of the month.
import { createHash, hash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { MAX_TEXT_BYTES, gunzipWithin } from '../store/common.ts';
import type { ArchiveStore } from '../store/types.ts';
import { monthPrefix, type MonthRef } from './layout.ts';
import type { BatchManifest, MonthRange } from './manifest.ts';

/**
 * Index formats: @2 lists the month's parts once, in its footer; @1 (read, no longer written) began each
 * block with a table of the parts its series use, which repeated most of them in every block of a wide month.
 */
export const INDEX_FORMAT = 'warp10-offloader/index@2';
export const INDEX_FORMATS = ['warp10-offloader/index@1', INDEX_FORMAT] as const;
/** Text of a block before gzip: a lookup decompresses one block, about 1,000 series of UUID labels. */
export const INDEX_BLOCK_BYTES = 64 * 1024;

/** One block as the index footer lists it (docs/ARCHIVE-LAYOUT.md, "The month index"). */
export interface FooterBlock {
  first: string;
  last: string;
  offset: number;
  bytes: number;
  sha256: string;
  series: number;
  bloom: Bloom;
  /** Attribute names of its series (absent: none). */
  attributes?: string[];
}

/** Where a month's index object is, as manifest.json records it. */
export interface MonthIndexRef {
  format: (typeof INDEX_FORMATS)[number];
  key: string;
  bytes: number;
  sha256: string;
  footer: { offset: number; bytes: number; sha256: string };
  series: number;
  blocks: number;
}

/**
 * Each archived series' owners and producers as Warp 10 knows them (`.owner`, `.producer`: FETCH hides
 * them), by selector: more than one pair when series of several owners share class and labels.
 */
export type SeriesOwners = Map<string, [owner: string, producer: string][]>;

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
  /** The series' line in its member, when its manifest records it: the reader decodes that line alone. */
  line?: number | undefined;
}

interface Entry {
  selector: string;
  attributes?: Record<string, string>;
  refs: Ref[];
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** The object's name within the month: the reader resolves it under the month's own prefix only. */
const objectName = (key: string) => key.slice(key.lastIndexOf('/') + 1);

function addSeries(
  entries: Map<string, Entry>,
  object: BatchManifest['object'],
  series: BatchManifest['series'],
): void {
  // One Part a member (and one for the whole object): the month's part table tells them apart by identity.
  const name = objectName(object.key);
  const memberParts = new Map<number, Part>();
  let wholePart: Part | undefined;
  for (const s of series) {
    if (s.points === 0 || s.first === null || s.last === null) continue;
    const m = s.member !== undefined ? object.members?.[s.member] : undefined;
    let part: Part;
    if (m) {
      part = memberParts.get(s.member!) ?? {
        object: name,
        offset: m.offset,
        bytes: m.bytes,
        sha256: m.sha256,
        whole: false,
      };
      memberParts.set(s.member!, part);
    } else {
      part = wholePart ??= {
        object: name,
        offset: 0,
        bytes: object.bytes,
        sha256: object.sha256,
        whole: true,
      };
    }
    let e = entries.get(s.selector);
    if (!e) {
      e = { selector: s.selector, refs: [] };
      entries.set(s.selector, e);
    }
    // The newest attributes seen (a supplement's, after the export's).
    if (s.attributes && Object.keys(s.attributes).length > 0) e.attributes = s.attributes;
    e.refs.push({ part, points: s.points, first: s.first, last: s.last, line: m ? s.line : undefined });
  }
}

/**
 * What buildMonthIndex makes of these manifests, hashed (an index staged ahead of a commit is taken only
 * if the commit's own manifests give the same): the builder, the range, and each manifest whole but for
 * what the guarded deletes change (status, times, counts deleted). A field the builder starts reading
 * later is hashed already.
 */
export function indexInputs(range: MonthRange, manifests: BatchManifest[]): string {
  // The builder: what it writes for the same manifests changes with these.
  const builder = `${INDEX_FORMAT} blocks ${INDEX_BLOCK_BYTES} bloom ${BLOOM_BITS_PER_PAIR}x${BLOOM_HASHES}`;
  const h = createHash('sha256').update(builder).update(JSON.stringify(range));
  for (const m of manifests) {
    const { status, verifiedAt, deletedAt, deleted, reopenedAt, ...rest } = m;
    void [status, verifiedAt, deletedAt, deleted, reopenedAt];
    h.update(JSON.stringify(rest));
  }
  return h.digest('hex');
}

/**
 * The index of a month from its batch manifests (in batch order). A series' parts are listed export first,
 * then its supplements in order, as readers apply them (the newest value of a tick wins).
 */
export function buildMonthIndex(
  manifests: BatchManifest[],
  range: MonthRange,
  owners?: SeriesOwners,
): BuiltIndex {
  const entries = new Map<string, Entry>();
  for (const m of manifests) {
    addSeries(entries, m.object, m.series);
    for (const s of m.supplements ?? []) addSeries(entries, s.object, s.series);
  }
  // UTF-16 code unit order, as Java's String.compareTo (the reader binary-searches it): sort()'s own
  // order for strings, with no comparator called per pair.
  const sorted = [...entries.keys()].sort().map((k) => entries.get(k)!);

  const chunks: Buffer[] = [];
  const blocks: FooterBlock[] = [];
  // The month's parts, numbered in the order blocks first use them; the footer lists them once.
  const parts = new Map<Part, number>();
  const table: (string | number)[][] = [];
  let offset = 0;
  let i = 0;
  while (i < sorted.length) {
    // A block: a line a series.
    const lines: string[] = [];
    const pairs = new Set<string>();
    // A label selector matches an attribute of its name too: the filter, of labels only, cannot speak for those.
    const attributeNames = new Set<string>();
    let size = 0;
    const first = sorted[i]!.selector;
    while (i < sorted.length && (size < INDEX_BLOCK_BYTES || lines.length === 0)) {
      const e = sorted[i]!;
      let refs = '';
      for (const r of e.refs) {
        let n = parts.get(r.part);
        if (n === undefined) {
          n = table.length;
          parts.set(r.part, n);
          table.push([r.part.object, r.part.offset, r.part.bytes, r.part.sha256, r.part.whole ? 1 : 0]);
        }
        refs += `${refs === '' ? '' : ','}${n}:${r.points}:${r.first}:${r.last}${r.line === undefined ? '' : `:${r.line}`}`;
      }
      // Owners and producers, aligned; empty when Warp 10 did not say (the reader then asks its FIND).
      const who = owners?.get(e.selector);
      const ownersOf =
        who === undefined ? '' : who.length === 1 ? who[0]![0] : who.map((w) => w[0]).join(',');
      const producersOf =
        who === undefined ? '' : who.length === 1 ? who[0]![1] : who.map((w) => w[1]).join(',');
      const attributes = e.attributes ? JSON.stringify(e.attributes) : '';
      const line = `${e.selector}\t${ownersOf}\t${producersOf}\t${attributes}\t${refs}`;
      for (const pair of labelPairs(e.selector)) pairs.add(pair);
      for (const name of Object.keys(e.attributes ?? {})) attributeNames.add(name);
      lines.push(line);
      size += line.length + 1;
      i++;
    }
    const text = `${lines.join('\n')}\n`;
    const gz = gzipSync(text);
    blocks.push({
      first,
      last: sorted[i - 1]!.selector,
      offset,
      bytes: gz.length,
      sha256: sha256(gz),
      series: lines.length,
      bloom: bloom(pairs),
      ...(attributeNames.size > 0 ? { attributes: [...attributeNames].sort() } : {}),
    });
    chunks.push(gz);
    offset += gz.length;
  }
  const footer = gzipSync(
    JSON.stringify({
      format: INDEX_FORMAT,
      range: { startUs: range.startUs, endUs: range.endUs },
      series: sorted.length,
      parts: table,
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

/** A stored index's footer or block, inflated within MAX_TEXT_BYTES: what the store gives is untrusted. */
function inflate(gz: Buffer, what: string): string {
  const text = gunzipWithin(gz, MAX_TEXT_BYTES);
  if (text === undefined) throw new Error(`${what} gunzips to more than ${MAX_TEXT_BYTES} bytes`);
  return text;
}

/** A month's index object that cannot be read as manifest.json names it (its key, its size). */
export class IndexUnreadable extends Error {
  override name = 'IndexUnreadable';
  constructor(
    readonly key: string,
    /** What is wrong, without the key. */
    readonly problem: string,
  ) {
    super(`${key} ${problem}`);
  }
}

/**
 * The bytes of the month's index object manifest.json names: one of the month's own (index-<16 hex>.idx
 * under its prefix), checked against its size before anything is allocated, read no further than it.
 * Throws IndexUnreadable (the store's NotFoundError when it is missing).
 */
export async function readMonthIndex(
  store: Pick<ArchiveStore, 'get'>,
  ref: MonthRef,
  index: Pick<MonthIndexRef, 'key' | 'bytes'>,
): Promise<Buffer> {
  const prefix = monthPrefix(ref);
  if (!index.key.startsWith(prefix) || !/^index-[0-9a-f]{16}\.idx$/.test(index.key.slice(prefix.length))) {
    throw new IndexUnreadable(index.key, `is not an index object of this month (index-<16 hex>.idx)`);
  }
  if (index.bytes > MAX_TEXT_BYTES) {
    throw new IndexUnreadable(
      index.key,
      `is ${index.bytes} bytes, over the ${MAX_TEXT_BYTES} an index may be`,
    );
  }
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of await store.get(index.key)) {
    n += c.length;
    if (n > index.bytes) {
      throw new IndexUnreadable(index.key, `is longer than manifest.json says (${index.bytes} bytes)`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/**
 * Each block's series lines and the parts they number, one block at a time, of the format the footer says
 * (@1: a table heading each block; @2: one table in the footer). Each block is checked against its SHA-256,
 * lies after the one before it and before the footer (none read twice), and inflates within MAX_TEXT_BYTES.
 */
function* indexBlocks(
  body: Buffer,
  footer: { offset: number; bytes: number },
): Generator<{ parts: unknown[]; lines: string[] }> {
  const f = JSON.parse(inflate(body.subarray(footer.offset, footer.offset + footer.bytes), 'the footer')) as {
    format?: unknown;
    parts?: unknown;
    blocks?: unknown;
  };
  const v2 = f.format === INDEX_FORMAT;
  if (!v2 && f.format !== INDEX_FORMATS[0])
    throw new Error('the footer is not of an index format this reads');
  if (v2 !== Array.isArray(f.parts))
    throw new Error(`the footer of format ${String(f.format)} lists parts or not`);
  if (!Array.isArray(f.blocks)) throw new Error('the footer lists no blocks');
  let end = 0;
  for (const [i, blk] of (f.blocks as { offset: number; bytes: number; sha256: string }[]).entries()) {
    if (
      !Number.isSafeInteger(blk.offset) ||
      !Number.isSafeInteger(blk.bytes) ||
      blk.offset < end ||
      blk.bytes <= 0 ||
      blk.offset + blk.bytes > footer.offset
    ) {
      throw new Error(
        `index block ${i} is not where a block can be (after block ${i - 1}, before the footer)`,
      );
    }
    end = blk.offset + blk.bytes;
    const raw = body.subarray(blk.offset, end);
    if (sha256(raw) !== blk.sha256) throw new Error(`index block ${i} fails its SHA-256`);
    const lines = inflate(raw, `index block ${i}`).trimEnd().split('\n');
    if (v2) {
      yield { parts: f.parts as unknown[], lines };
      continue;
    }
    const [table, ...rest] = lines;
    const parts = JSON.parse(table!) as unknown;
    if (!Array.isArray(parts)) throw new Error(`index block ${i} has no part table`);
    yield { parts, lines: rest };
  }
}

/**
 * The owners and producers a stored index records, by selector. The body is checked against its reference
 * (size, SHA-256, the footer's and each block's), so that nothing damaged or foreign is believed.
 */
export function indexOwners(
  body: Buffer,
  ref: Pick<MonthIndexRef, 'bytes' | 'sha256' | 'footer'>,
): SeriesOwners {
  if (body.length !== ref.bytes || sha256(body) !== ref.sha256) {
    throw new Error(`the index is ${body.length} bytes with another SHA-256 than manifest.json says`);
  }
  const out: SeriesOwners = new Map();
  for (const { lines } of indexBlocks(body, ref.footer)) {
    for (const l of lines) {
      const [selector, owners, producers] = l.split('\t');
      if (!selector || !owners) continue;
      const p = (producers ?? '').split(',');
      out.set(
        selector,
        owners.split(',').map((o, j) => [o, p[j] ?? ''] as [string, string]),
      );
    }
  }
  return out;
}

/** A block's filter of its series' labels: a query naming exact label values skips the blocks without them. */
export interface Bloom {
  /** Bits, and hashes a pair sets. */
  m: number;
  k: number;
  /** The bits, base64 (bit j is byte j >> 3, mask 1 << (j & 7)). */
  bits: string;
}

export const BLOOM_BITS_PER_PAIR = 10;
export const BLOOM_HASHES = 7;

/** The `name=value` pairs of a selector as TOSELECTOR writes it (names and values URL-encoded). */
export function labelPairs(selector: string): string[] {
  const open = selector.indexOf('{');
  const body = open < 0 ? '' : selector.slice(open + 1, selector.endsWith('}') ? -1 : undefined);
  return body === '' ? [] : body.split(',');
}

function bloom(pairs: Set<string>): Bloom {
  const m = Math.max(64, Math.ceil((pairs.size * BLOOM_BITS_PER_PAIR) / 8) * 8);
  const bits = Buffer.alloc(m / 8);
  for (const p of pairs) {
    // Its bits: SHA-256's first two 32-bit words, double hashing (the extension computes the same).
    const d = hash('sha256', p, 'buffer');
    const h1 = d.readUInt32BE(0);
    const h2 = (d.readUInt32BE(4) | 1) >>> 0;
    for (let i = 0; i < BLOOM_HASHES; i++) {
      const j = (h1 + i * h2) % m;
      bits[j >> 3]! |= 1 << (j & 7);
    }
  }
  return { m, k: BLOOM_HASHES, bits: bits.toString('base64') };
}

/** The index object's key: named by its content, so a reader's cache of it never goes stale. */
export const monthIndexKey = (monthPrefix: string, sha: string) =>
  `${monthPrefix}index-${sha.slice(0, 16)}.idx`;

/**
 * What differs between a stored index and the one its batch manifests make (owners aside: they come from
 * Warp 10, not from the manifests): a block or footer that fails its SHA-256, a series missing, extra, or
 * pointing at other parts. Empty when the index is exactly what the manifests say.
 */
export function compareMonthIndex(
  body: Buffer,
  ref: Pick<MonthIndexRef, 'bytes' | 'sha256' | 'footer'>,
  manifests: BatchManifest[],
  range: MonthRange,
): string[] {
  if (body.length !== ref.bytes || sha256(body) !== ref.sha256) {
    return [`is ${body.length} bytes with another SHA-256 than manifest.json says (${ref.bytes} bytes)`];
  }
  const lines = (b: Buffer, footer: { offset: number; bytes: number }, max = Infinity): string[] => {
    const out: string[] = [];
    for (const { parts, lines: rest } of indexBlocks(b, footer)) {
      for (const l of rest) {
        const [selector, , , attributes, refs] = l.split('\t');
        // Parts by value, not by their number in the block's table.
        const resolved = refs!.split(',').map((r) => {
          const [p, ...counts] = r.split(':');
          // A number the table does not hold resolves to nothing, and so differs from what the manifests say.
          const part = /^\d+$/.test(p!) ? (parts[Number(p)] ?? null) : null;
          return `${JSON.stringify(part)}:${counts.join(':')}`;
        });
        out.push(`${selector}\t${attributes}\t${resolved.join(',')}`);
        // A stored index is untrusted: past what the manifests hold it is not held whole to be compared.
        if (out.length > max) throw new Error(`it holds more than ${max} series entries`);
      }
    }
    return out;
  };
  const fresh = buildMonthIndex(manifests, range);
  const expected = lines(fresh.body, fresh.ref.footer);
  let stored: string[];
  try {
    // Room to name what it adds; an index of far more entries than its manifests is cut short.
    stored = lines(body, ref.footer, 2 * expected.length + 1000);
  } catch (err) {
    return [`is not readable: ${(err as Error).message}`];
  }
  const problems: string[] = [];
  const have = new Set(stored);
  const want = new Set(expected);
  const missing = expected.filter((l) => !have.has(l));
  const extra = stored.filter((l) => !want.has(l));
  if (missing.length > 0)
    problems.push(
      `lacks ${missing.length} series entr(ies) of the batch manifests, e.g. ${missing[0]!.split('\t')[0]}`,
    );
  if (extra.length > 0)
    problems.push(
      `holds ${extra.length} series entr(ies) the batch manifests do not, e.g. ${extra[0]!.split('\t')[0]}`,
    );
  return problems;
}
