// Removing series from a batch object without touching the others: the gzip members that hold none of
// them are kept byte for byte (their SHA-256s still hold), the members that hold some are inflated, their
// lines of erased series dropped and the rest compressed again as one member. An object written before
// members is rewritten whole, into members. Which line is which series is read from each line's own
// metadata, never from the manifest's line numbers: a manifest that lies cannot make the wrong series go.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ArchiveStore } from '../store/types.ts';
import type { BatchManifest, Member, SeriesEntry } from './manifest.ts';
import { MemberEncoder, seekableGzip } from './members.ts';
import { parseSeriesName } from './series-name.ts';
import { WrapDecodeError, wrappedName } from './wrap-decode.ts';

/** Text a rewritten member may inflate to before it is refused (members hold about 512 KiB). */
export const MAX_MEMBER_TEXT = 32 * 2 ** 20;
/** Text an object written before members may inflate to (read whole). */
export const MAX_OBJECT_TEXT = 256 * 2 ** 20;

/** The archive does not hold what its manifest says: the erasure stops before it changes anything. */
export class EraseCorruptError extends Error {
  override name = 'EraseCorruptError';
}

/** A series' identity in both a manifest (its selector) and an object (its line's metadata). */
export function seriesKeyOf(cls: string, labels: Record<string, string>): string {
  return JSON.stringify([cls, Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
}

export function selectorKey(selector: string): string {
  const n = parseSeriesName(selector);
  return seriesKeyOf(n.cls, n.labels);
}

type StoredObject = BatchManifest['object'];

export interface ObjectRewrite {
  /** The new object: its bytes and members (offsets from 0, each with its SHA-256). */
  body: Buffer;
  sha256: string;
  members: Member[];
  /** The object's series without the erased ones, `member` and `line` where the new object holds them. */
  series: SeriesEntry[];
  erased: { series: number; points: number; lines: number };
  /** Bytes of members inflated and rewritten; bytes of members kept as they were. */
  rewrittenBytes: number;
  copiedBytes: number;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function lineKey(line: string, where: string): string {
  try {
    const w = wrappedName(line);
    return seriesKeyOf(w.cls, w.labels);
  } catch (err) {
    if (err instanceof WrapDecodeError)
      throw new EraseCorruptError(`${where} is not a wrapped series: ${err.message}`);
    throw err;
  }
}

function inflate(buf: Buffer, where: string, cap: number): string[] {
  let text: string;
  try {
    text = gunzipSync(buf, { maxOutputLength: cap }).toString('latin1');
  } catch (err) {
    throw new EraseCorruptError(`${where} does not gunzip within ${cap} bytes: ${(err as Error).message}`);
  }
  return text.split('\n').filter((l) => l !== '');
}

/**
 * The object without the series whose key is in `erased`, or undefined when none of its series is. The
 * object is read once and checked (size, SHA-256, each member's) before anything is built from it.
 */
export async function rewriteObject(
  store: ArchiveStore,
  object: StoredObject,
  series: SeriesEntry[],
  erased: Set<string>,
): Promise<ObjectRewrite | undefined> {
  const gone = (s: SeriesEntry) => erased.has(selectorKey(s.selector));
  const erasedEntries = series.filter(gone);
  const withLines = erasedEntries.filter((s) => s.points > 0);
  if (erasedEntries.length === 0) return undefined;
  const kept = series.filter((s) => !gone(s));
  const erasedPoints = withLines.reduce((n, s) => n + s.points, 0);
  if (withLines.length === 0) {
    // Only series without a point here (they have no line): the object stays as it is.
    return undefined;
  }

  const members = object.members;
  const byMember =
    members !== undefined &&
    members.length > 0 &&
    withLines.every((s) => s.member !== undefined && members[s.member]);
  // Where each kept series' line lands: by key, in line order (series of several owners may share one).
  const placed = new Map<string, [number, number][]>();
  const place = (key: string, member: number, line: number) => {
    const list = placed.get(key);
    if (list) list.push([member, line]);
    else placed.set(key, [[member, line]]);
  };
  let droppedLines = 0;

  if (!byMember) {
    // Written before members (or a manifest without them): the whole object, into members.
    const raw = await store.getRange(object.key, 0, object.bytes);
    if (sha(raw) !== object.sha256) {
      throw new EraseCorruptError(`${object.key} does not match the SHA-256 its batch manifest records`);
    }
    const lines = inflate(raw, object.key, MAX_OBJECT_TEXT);
    const keep: string[] = [];
    for (const [i, l] of lines.entries()) {
      const key = lineKey(l, `line ${i + 1} of ${object.key}`);
      if (erased.has(key)) droppedLines++;
      else keep.push(l);
    }
    const encoder = new MemberEncoder();
    const chunks: Buffer[] = [];
    const keys = keep.map((l, i) => lineKey(l, `line ${i + 1} of ${object.key}`));
    for await (const chunk of seekableGzip(
      keep.map((l) => `${l}\n`),
      encoder,
      (i, member, line) => place(keys[i]!, member, line),
    )) {
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    return finish(body, encoder.members, { rewrittenBytes: raw.length, copiedBytes: 0 });
  }

  const touched = new Set(withLines.map((s) => s.member!));
  const out: Buffer[] = [];
  const newMembers: Member[] = [];
  /** Old member index -> new (-1: every line of it erased). */
  const renumber: number[] = [];
  let offset = 0;
  let rewrittenBytes = 0;
  let copiedBytes = 0;
  let end = 0;
  for (const [i, m] of members.entries()) {
    // Members tile the object, as its manifest says: each one read alone (a range read), checked first.
    if (m.offset !== end || m.offset + m.bytes > object.bytes) {
      throw new EraseCorruptError(`${object.key}: member ${i} is not where the members before it end`);
    }
    end = m.offset + m.bytes;
    const buf = await store.getRange(object.key, m.offset, m.bytes);
    if (sha(buf) !== m.sha256) {
      throw new EraseCorruptError(`${object.key}: member ${i} does not match its SHA-256`);
    }
    let next: Buffer = buf;
    if (touched.has(i)) {
      rewrittenBytes += buf.length;
      const keep: string[] = [];
      for (const [j, l] of inflate(buf, `${object.key} member ${i}`, MAX_MEMBER_TEXT).entries()) {
        const key = lineKey(l, `line ${j + 1} of ${object.key} member ${i}`);
        if (erased.has(key)) {
          droppedLines++;
          continue;
        }
        place(key, newMembers.length, keep.length);
        keep.push(l);
      }
      if (keep.length === 0) {
        renumber.push(-1);
        continue;
      }
      next = gzipSync(Buffer.from(`${keep.join('\n')}\n`, 'latin1'));
    } else {
      copiedBytes += buf.length;
    }
    renumber.push(newMembers.length);
    newMembers.push({ offset, bytes: next.length, sha256: sha(next) });
    out.push(next);
    offset += next.length;
  }
  if (end !== object.bytes) {
    throw new EraseCorruptError(
      `${object.key}: its members end at byte ${end}, the object at ${object.bytes}`,
    );
  }
  if (out.length === 0) {
    // Every series of the object erased: still a gzip (one empty member), as an export of no series is.
    const empty = gzipSync(Buffer.alloc(0));
    newMembers.push({ offset: 0, bytes: empty.length, sha256: sha(empty) });
    out.push(empty);
  }
  return finish(Buffer.concat(out), newMembers, { rewrittenBytes, copiedBytes }, (s) => {
    // A series of an untouched member keeps its line; its member is renumbered.
    if (s.member === undefined || touched.has(s.member)) return undefined;
    const to = renumber[s.member];
    return to === undefined || to < 0
      ? undefined
      : { member: to, ...(s.line === undefined ? {} : { line: s.line }) };
  });

  function finish(
    body: Buffer,
    newMembers: Member[],
    bytes: { rewrittenBytes: number; copiedBytes: number },
    untouched?: (s: SeriesEntry) => { member: number; line?: number } | undefined,
  ): ObjectRewrite {
    if (droppedLines !== withLines.length) {
      throw new EraseCorruptError(
        `${object.key}: ${droppedLines} line(s) of erased series found where its batch manifest lists ${withLines.length}`,
      );
    }
    const next: SeriesEntry[] = kept.map((s) => {
      if (s.points === 0) return s;
      const { member: _m, line: _l, ...rest } = s;
      const same = untouched?.(s);
      if (same) return { ...rest, ...same };
      const at = placed.get(selectorKey(s.selector))?.shift();
      if (!at) {
        throw new EraseCorruptError(
          `${object.key}: series ${s.selector} of its batch manifest has no line where it says`,
        );
      }
      return { ...rest, member: at[0], line: at[1] };
    });
    return {
      body,
      sha256: sha(body),
      members: newMembers,
      series: next,
      erased: { series: erasedEntries.length, points: erasedPoints, lines: droppedLines },
      ...bytes,
    };
  }
}
