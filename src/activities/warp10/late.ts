// Late data: points written into a verified batch's series since its export, archived as a supplement.
import { Readable, pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import { cancellationSignal } from '@temporalio/activity';
import { gzipLines } from '../../archive/lines.ts';
import { supplementObjectKey } from '../../archive/layout.ts';
import type { SeriesEntry, Supplement } from '../../archive/manifest.ts';
import type { FeedingRunner, WarpScriptRunner } from '../../warp10/runner.ts';
import { nonRetryable, toFailure } from '../failures.ts';
import {
  fetchSelectors,
  lastUs,
  readBatch,
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
  points: number;
  bytes: number;
}

/**
 * Archives the late data of a verified batch: the points now live in `series` that none of the batch's
 * objects holds, as one more object of the batch (a supplement), read back and checked before the batch
 * manifest lists it. Only then may the guarded delete remove those points.
 */
export async function archiveLateData(
  deps: Warp10ActivityDeps,
  input: BatchRef & { series: string[] },
): Promise<LateResult> {
  const { store, runner, tokens } = deps;
  const { batch } = input;
  try {
    const m = await readBatch(store, input, batch);
    if (!m || m.status !== 'verified') {
      throw nonRetryable('NotVerified', `batch ${batch} is ${m?.status ?? 'missing'}, not verified`, batch);
    }
    if (!isFedRunner(runner)) throw new Error('archiving late data needs a runner that can feed lines');
    const known = new Set(m.series.map((s) => s.selector));
    // A partition batch owns every series its selector matches, new ones included.
    const wanted = m.partition ? input.series : input.series.filter((s) => known.has(s));
    const objects = [m.object, ...(m.supplements ?? []).map((x) => x.object)];
    async function* archivedLines() {
      for (const o of objects) yield* gzipLines(await store.get(o.key));
    }
    const [rows] = await runner.runFed<[unknown[][]]>(
      'archive-late',
      {
        readToken: tokens.read,
        wanted: Object.fromEntries(wanted.map((s) => [s, true])),
        fetch: m.partition ? [m.partition.selector] : fetchSelectors(wanted),
        start: m.range.startUs,
        end: lastUs(m.range),
      },
      { items: archivedLines(), macro: 'series', end: 'finish' },
      cancellationSignal(),
    );
    const late = rows.map(asLateRow);
    const fresh = late.filter((r) => r.points > 0);
    const n = (m.supplements?.length ?? 0) + 1;
    const key = supplementObjectKey(input, batch, n);
    const gzip = createGzip();
    pipeline(Readable.from(fresh.map((r) => `${r.wrapped}\n`)), gzip, () => {});
    const object = await store.put(key, gzip, { contentType: 'application/gzip' });
    const back = await readBack(await store.get(key));
    if (back.sha256 !== object.sha256 || back.lines !== fresh.length) {
      throw new Error(`${key} read back differs from what was written: retrying`);
    }
    const supplement: Supplement = {
      object,
      series: fresh.map((r) => ({ selector: r.selector, points: r.points, first: r.first, last: r.last })),
      points: fresh.reduce((t, r) => t + r.points, 0),
      live: late.map((r) => r.live),
      exportedAt: new Date().toISOString(),
    };
    await writeBatch(store, input, batch, {
      ...m,
      supplements: [...(m.supplements ?? []), supplement],
    });
    return { batch, supplement: n, series: fresh.length, points: supplement.points, bytes: object.bytes };
  } catch (err) {
    throw toFailure(err, batch);
  }
}

interface LateRow {
  selector: string;
  wrapped: string | null;
  points: number;
  first: number | null;
  last: number | null;
  live: SeriesEntry;
}

function asLateRow(x: unknown): LateRow {
  const ok =
    Array.isArray(x) &&
    x.length === 8 &&
    typeof x[0] === 'string' &&
    (x[1] === null || typeof x[1] === 'string') &&
    x.slice(2).every((v) => v === null || typeof v === 'number');
  if (!ok) {
    throw nonRetryable(
      'WarpScriptError',
      `unexpected item in a late-data reply: ${JSON.stringify(x).slice(0, 200)}`,
    );
  }
  const [selector, wrapped, points, first, last, live, liveFirst, liveLast] = x as [
    string,
    string | null,
    number,
    number | null,
    number | null,
    number,
    number,
    number,
  ];
  if (points > 0 && !wrapped)
    throw nonRetryable('WarpScriptError', `late points of ${selector} came back without data`);
  return {
    selector,
    wrapped,
    points,
    first,
    last,
    live: { selector, points: live, first: liveFirst, last: liveLast },
  };
}

const isFedRunner = (r: WarpScriptRunner): r is FeedingRunner =>
  typeof (r as FeedingRunner).runFed === 'function';
