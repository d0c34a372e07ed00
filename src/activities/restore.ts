// Activities of a restore: plan it from the archive store, then per batch stream the batch object from
// the store into Warp 10 (restore-batch.mc2), first to check what the target holds, then to write.
// Writing a batch again writes the same points again, which changes nothing: a retry or a new worker
// after a crash simply redoes the batch.
import { createHash } from 'node:crypto';
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { gzipLines } from '../archive/lines.ts';
import { ConfigError } from '../config/load.ts';
import { SecretError } from '../config/secrets.ts';
import {
  RestoreInputError,
  planRestore,
  parseSeriesSelector,
  readBatchManifest,
  readMonthManifest,
  restoreWindow,
  selectedSeries,
  type RestorePlan,
  type RestoreRequest,
} from '../restore/plan.ts';
import type { ArchiveStore } from '../store/types.ts';
import type { RestoreTarget } from '../worker/runtime.ts';
import { nonRetryable, toFailure } from './failures.ts';
import { keepAlive } from './keep-alive.ts';

/** Series per Warp 10 request: keeps each request's operations and fetched points bounded. */
export const SERIES_PER_REQUEST = 1000;
/** Points held in Warp 10 before an UPDATE sends them. */
const FLUSH_POINTS = 200_000;
/** Conflicting series named per batch (the count is always exact). */
const MAX_CONFLICTS = 20;

export interface RestoreBatchInput extends RestoreRequest {
  batch: number;
}

export interface Conflict {
  /** The series in the target (class and labels, without the token's labels). */
  series: string;
  livePoints: number;
  first: number | null;
  last: number | null;
}

export interface RestoreBatchResult {
  batch: number;
  /** Series and points of the archive kept by the selector and window (written, or to write). */
  series: number;
  points: number;
  /** Bytes of the archive read for it (the gzip batch object). */
  bytes: number;
  /** Check: series with no point in the window in the target; series holding exactly the archive's. */
  free: number;
  same: number;
  conflicts: Conflict[];
  conflictCount: number;
  /** Write: points sent with UPDATE, series re-read and found whole, series given their attributes. */
  written: number;
  verified: number;
  attributes: number;
}

interface ScriptResult {
  lines: number;
  series: number;
  points: number;
  bytes: number;
  free: number;
  same: number;
  verified: number;
  conflicts: [string, number, number | null, number | null][];
  conflictCount: number;
  written: number;
  attributes: number;
}

/** A TOSELECTOR selector without the labels Warp 10 sets from the token (.app, .owner, .producer). */
export function withoutTokenLabels(selector: string): string {
  const open = selector.indexOf('{');
  const labels = selector.slice(open + 1, -1);
  const kept = labels === '' ? [] : labels.split(',').filter((l) => !/^\.(app|owner|producer)=/.test(l));
  return `${selector.slice(0, open)}{${kept.join(',')}}`;
}

export function inputFailure(err: unknown, batch?: number): unknown {
  if (err instanceof RestoreInputError) return nonRetryable(err.type, err.message, batch);
  if (err instanceof ConfigError || err instanceof SecretError) {
    return ApplicationFailure.create({ type: 'ConfigError', message: err.message, nonRetryable: true });
  }
  return err;
}

/** Pulls at most `n` items from a shared iterator (one request's share of the batch). */
async function* take<T>(it: AsyncIterator<T>, n: number, state: { done: boolean }): AsyncGenerator<T> {
  for (let i = 0; i < n; i++) {
    const next = await it.next();
    if (next.done) {
      state.done = true;
      return;
    }
    yield next.value;
  }
}

export function createRestoreActivities(deps: {
  store: ArchiveStore;
  restoreTarget: (name?: string) => RestoreTarget;
}) {
  const { store } = deps;

  async function batchStep(input: RestoreBatchInput, write: boolean): Promise<RestoreBatchResult> {
    const { batch } = input;
    const target = deps.restoreTarget(input.target);
    const month = await readMonthManifest(store, input);
    if (!month) throw new RestoreInputError('NoSuchArchive', `no manifest for ${input.month}`);
    const m = await readBatchManifest(store, input, batch);
    if (!m) throw new RestoreInputError('ArchiveCorrupt', `batch ${batch} has no manifest`);
    const key = m.object.key;

    // The whole object is checked before any of it is sent: a corrupt batch writes nothing.
    const hash = createHash('sha256');
    for await (const chunk of await store.get(key)) hash.update(chunk);
    const sha = hash.digest('hex');
    if (sha !== m.object.sha256) {
      throw nonRetryable(
        'ArchiveCorrupt',
        `batch ${batch}: ${key} is corrupt: its SHA-256 is ${sha}, the manifest says ${m.object.sha256}; nothing of it was restored`,
        batch,
      );
    }
    heartbeat({ batch, checked: key });

    const window = restoreWindow(input, month.range);
    const selector = input.series === undefined ? undefined : parseSeriesSelector(input.series);
    const chosen = selectedSeries(m, selector, window);
    const wanted = selector ? Object.fromEntries(chosen.map((s) => [s.selector, true])) : null;
    const total: RestoreBatchResult = {
      batch,
      series: 0,
      points: 0,
      bytes: 0,
      free: 0,
      same: 0,
      conflicts: [],
      conflictCount: 0,
      written: 0,
      verified: 0,
      attributes: 0,
    };
    let lines = 0;
    const whole = input.from === undefined && input.to === undefined;
    if (!write && whole && chosen.length > 0) {
      // A whole-month check needs no archive data: the batch manifest has every series' counts.
      const expected = Object.fromEntries(
        chosen.map((s) => [withoutTokenLabels(s.selector), [s.points, s.first, s.last]]),
      );
      const [r] = await target.runner.run<
        [Pick<ScriptResult, 'free' | 'same' | 'conflicts' | 'conflictCount'>]
      >(
        'restore-check',
        {
          readToken: target.tokens.read,
          expected,
          start: window.startUs,
          end: window.lastUs,
          maxConflicts: MAX_CONFLICTS,
        },
        cancellationSignal(),
      );
      Object.assign(total, {
        series: chosen.length,
        points: chosen.reduce((n, s) => n + s.points, 0),
        bytes: m.object.bytes,
        free: r.free,
        same: r.same,
        conflictCount: r.conflictCount,
        conflicts: r.conflicts.map(([series, livePoints, first, last]) => ({
          series,
          livePoints,
          first,
          last,
        })),
      });
      return total;
    }
    if (chosen.length > 0) {
      const it = gzipLines(await store.get(key))[Symbol.asyncIterator]();
      const state = { done: false };
      while (!state.done) {
        const [r] = await target.runner.runFed<[ScriptResult]>(
          'restore-batch',
          {
            readToken: target.tokens.read,
            writeToken: target.tokens.write,
            write,
            merge: input.merge ?? false,
            wanted,
            start: window.startUs,
            end: window.lastUs,
            flushPoints: FLUSH_POINTS,
            maxConflicts: MAX_CONFLICTS,
          },
          { items: take(it, SERIES_PER_REQUEST, state), macro: 'series', end: 'finish' },
          cancellationSignal(),
        );
        lines += r.lines;
        for (const k of [
          'series',
          'points',
          'free',
          'same',
          'conflictCount',
          'written',
          'verified',
          'attributes',
        ] as const) {
          total[k] += r[k];
        }
        for (const [series, livePoints, first, last] of r.conflicts) {
          if (total.conflicts.length < MAX_CONFLICTS)
            total.conflicts.push({ series, livePoints, first, last });
        }
        heartbeat({ batch, lines });
      }
    }
    total.bytes = chosen.length > 0 ? m.object.bytes : 0;
    const withData = m.series.filter((s) => s.points > 0).length;
    if (chosen.length > 0 && lines !== withData) {
      throw nonRetryable(
        'ArchiveCorrupt',
        `batch ${batch}: ${key} holds ${lines} series, its manifest ${withData}`,
        batch,
      );
    }
    // Without a window every selected series is restored whole: the counts must be the manifest's.
    const expected = chosen.reduce((n, s) => n + s.points, 0);
    if (total.series !== chosen.length || (whole && total.points !== expected)) {
      throw nonRetryable(
        'RestoreMismatch',
        `batch ${batch}: ${key} gave ${total.series} series and ${total.points} points for the selection, its manifest ${chosen.length} series${whole ? ` and ${expected} points` : ''}`,
        batch,
      );
    }
    return total;
  }

  return {
    /** Checks the request against the store and lists the batches to restore. */
    async planRestore(input: RestoreRequest): Promise<RestorePlan> {
      try {
        deps.restoreTarget(input.target); // an unknown target or a missing secret fails here, before any read
        return await planRestore(store, input);
      } catch (err) {
        throw toFailure(inputFailure(err));
      }
    },
    /** Reads what the target holds where the batch would write; writes nothing. */
    async checkRestoreBatch(input: RestoreBatchInput): Promise<RestoreBatchResult> {
      return keepAlive(
        () =>
          batchStep(input, false).catch((err: unknown) =>
            Promise.reject(toFailure(inputFailure(err, input.batch), input.batch)),
          ),
        () => ({ batch: input.batch }),
      );
    },
    /** Writes the batch's selected points, then re-reads the target and compares, series by series. */
    async restoreBatch(input: RestoreBatchInput): Promise<RestoreBatchResult> {
      return keepAlive(
        () =>
          batchStep(input, true).catch((err: unknown) =>
            Promise.reject(toFailure(inputFailure(err, input.batch), input.batch)),
          ),
        () => ({ batch: input.batch }),
      );
    },
  };
}

export type RestoreActivities = ReturnType<typeof createRestoreActivities>;
