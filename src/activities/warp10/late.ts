// Late data: points written into a verified batch's series since its export, archived as a supplement.
import { cancellationSignal } from '@temporalio/activity';
import { gzipLines } from '../../archive/lines.ts';
import { supplementObjectKey } from '../../archive/layout.ts';
import type { BatchManifest, Supplement } from '../../archive/manifest.ts';
import { MemberEncoder, seekableGzip } from '../../archive/members.ts';
import type { FeedingRunner, WarpScriptRunner } from '../../warp10/runner.ts';
import { nonRetryable, toFailure } from '../failures.ts';
import { latePartitionRows } from './late-partition.ts';
import type { LateRow } from './late-row.ts';
import {
  batchWrapDigest,
  contentDigest,
  fetchSelectors,
  lastUs,
  readBatch,
  unexpected,
  writeBatch,
  type BatchRef,
  type Warp10ActivityDeps,
} from './shared.ts';
import { readBack } from './verify.ts';

export interface LateResult {
  batch: number;
  /** Which supplement of the batch this is (1, 2, ...). */
  supplement: number;
  series: number;
  /** New points (at ticks the archive did not hold); `rewritten` replace an archived value. */
  points: number;
  rewritten: number;
  bytes: number;
}

/**
 * Archives the late data of a verified batch: the points now live in `series` that none of the batch's
 * objects holds as they are (new ticks, and rewritten values at archived ticks), as one more object of
 * the batch (a supplement), read back and checked before the batch manifest lists it. Only then may the
 * guarded delete remove those points. A partition batch is compared whole: by the worker when it has a
 * wrap digest (late-partition.ts), by archive-late.mc2 when it was exported before.
 */
export async function archiveLateData(
  deps: Warp10ActivityDeps,
  input: BatchRef & { series: string[] },
): Promise<LateResult> {
  const { store } = deps;
  const { batch } = input;
  try {
    const m = await readBatch(store, input, batch);
    if (!m || m.status !== 'verified') {
      throw nonRetryable('NotVerified', `batch ${batch} is ${m?.status ?? 'missing'}, not verified`, batch);
    }
    const wrapKind = batchWrapDigest(m) !== undefined;
    const { rows: late, digest } = wrapKind
      ? await latePartitionRows(deps, m).then((r) => ({ rows: r.rows, digest: r.wrap }))
      : await lateRows(deps, m, input.series);
    const fresh = late.filter((r) => r.points > 0);
    const n = (m.supplements?.length ?? 0) + 1;
    const key = supplementObjectKey(input, batch, n);
    const encoder = new MemberEncoder();
    const memberOf: number[] = [];
    const lineOf: number[] = [];
    const body = seekableGzip(
      fresh.map((r) => `${r.wrapped}\n`),
      encoder,
      (i, member, line) => {
        memberOf[i] = member;
        lineOf[i] = line;
      },
    );
    const stored = await store.put(key, body, { contentType: 'application/gzip' });
    const object = { ...stored, members: encoder.members };
    const back = await readBack(await store.get(key));
    if (back.sha256 !== object.sha256 || back.lines !== fresh.length) {
      throw new Error(`${key} read back differs from what was written: retrying`);
    }
    const rewritten = fresh.reduce((t, r) => t + r.rewritten, 0);
    const supplement: Supplement = {
      object,
      series: fresh.map((r, i) => ({
        selector: r.selector,
        points: r.points,
        first: r.first,
        last: r.last,
        ...(r.rewritten > 0 ? { rewritten: r.rewritten } : {}),
        member: memberOf[i]!,
        line: lineOf[i]!,
      })),
      points: fresh.reduce((t, r) => t + r.points, 0),
      ...(rewritten > 0 ? { rewritten } : {}),
      // A partition batch's guard compares its digest; a hash a series would only grow its manifest.
      live: late.map(({ live: { hash, ...counts } }) => (m.partition ? counts : { ...counts, hash })),
      ...(digest === undefined ? {} : wrapKind ? { wrap: digest } : { digest }),
      exportedAt: new Date().toISOString(),
    };
    await writeBatch(store, input, batch, {
      ...m,
      supplements: [...(m.supplements ?? []), supplement],
    });
    return {
      batch,
      supplement: n,
      series: fresh.length,
      points: supplement.points - rewritten,
      rewritten,
      bytes: object.bytes,
    };
  } catch (err) {
    throw toFailure(err, batch);
  }
}

/** The late rows by archive-late.mc2 (batches of a few series, partition batches exported before wrap digests). */
async function lateRows(
  deps: Warp10ActivityDeps,
  m: BatchManifest,
  series: string[],
): Promise<{ rows: LateRow[]; digest: string | undefined }> {
  const { store, runner, tokens } = deps;
  if (!isFedRunner(runner)) throw new Error('archiving late data needs a runner that can feed lines');
  const known = new Set(m.series.map((s) => s.selector));
  // A partition batch owns every series its selector matches, new ones included.
  const all = contentDigest(m) !== undefined;
  const wanted = all ? [] : m.partition ? series : series.filter((s) => known.has(s));
  const objects = [m.object, ...(m.supplements ?? []).map((x) => x.object)];
  async function* archivedLines() {
    for (const o of objects) yield* gzipLines(await store.get(o.key));
  }
  const [reply] = await runner.runFed<[{ rows: unknown[]; digest: string | null }]>(
    'archive-late',
    {
      readToken: tokens.read,
      wanted: Object.fromEntries(wanted.map((s) => [s, true])),
      fetch: m.partition ? [m.partition.selector] : fetchSelectors(wanted),
      start: m.range.startUs,
      end: lastUs(m.range),
      ...(all ? { all: true } : {}),
    },
    { items: archivedLines(), macro: 'series', end: 'finish' },
    cancellationSignal(),
  );
  if (!Array.isArray(reply?.rows) || (all && typeof reply.digest !== 'string')) {
    throw unexpected('late-data', reply);
  }
  return { rows: reply.rows.map(asLateRow), digest: all ? (reply.digest as string) : undefined };
}

function asLateRow(x: unknown): LateRow {
  const ok =
    Array.isArray(x) &&
    x.length === 10 &&
    typeof x[0] === 'string' &&
    (x[1] === null || typeof x[1] === 'string') &&
    x.slice(2, 9).every((v) => v === null || typeof v === 'number') &&
    typeof x[9] === 'string';
  if (!ok) throw unexpected('late-data', x);
  const [selector, wrapped, points, first, last, live, liveFirst, liveLast, rewritten, hash] = x as [
    string,
    string | null,
    number,
    number | null,
    number | null,
    number,
    number,
    number,
    number,
    string,
  ];
  if (points > 0 && !wrapped)
    throw nonRetryable('WarpScriptError', `late points of ${selector} came back without data`);
  return {
    selector,
    wrapped,
    points,
    first,
    last,
    rewritten,
    live: { selector, points: live, first: liveFirst, last: liveLast, hash },
  };
}

const isFedRunner = (r: WarpScriptRunner): r is FeedingRunner =>
  typeof (r as FeedingRunner).runFed === 'function';
