// Activities of a restore: plan it from the archive store, then per batch read the batch object,
// check what the target holds there, and write: the worker decodes the WRAPped series itself and
// streams them as GTS input text to the target's /api/v0/update, then reads them back in Warp 10
// (restore-verify.mc2). Writing a batch again writes the same points again, which changes nothing: a
// retry or a new worker after a crash simply redoes the batch.
import { createHash, type Hash } from 'node:crypto';
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { LineTooLongError, gzipLines } from '../archive/lines.ts';
import { WrapDecodeError, type Long64 } from '../archive/wrap-decode.ts';
import { ConfigError } from '../config/load.ts';
import { SecretError } from '../config/secrets.ts';
import { ArchiveInputError, readBatchManifest, readMonthManifest } from '../archive/read.ts';
import { parseSeriesName } from '../archive/series-name.ts';
import {
  batchObjects,
  type ObjectRead,
  planRestore,
  parseSeriesSelector,
  restoreWindow,
  selectedSeries,
  type RestorePlan,
  type RestoreRequest,
} from '../restore/plan.ts';
import { wrappedToInput } from '../restore/input-format.ts';
import type { ArchiveStore } from '../store/types.ts';
import type { FeedingRunner } from '../warp10/runner.ts';
import type { Warp10Client } from '../warp10/client.ts';
import { nonRetryable, toFailure } from './failures.ts';
import { keepAlive } from './keep-alive.ts';

/**
 * GTS input text of a batch held in the worker (bytes): a batch is encoded whole before any of it is
 * sent. A larger batch is sent as it is encoded from a second read (the first pass has decoded all of it).
 */
const HOLD_BYTES = 128 * 2 ** 20;
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
  /** Write: points sent to /api/v0/update, series re-read and found whole, series given their attributes. */
  written: number;
  verified: number;
  attributes: number;
  /** Write: where its time went (ms): reading and checking the object, sending, reading back. */
  timings?: { readMs: number; sendMs: number; verifyMs: number };
}

interface CheckResult {
  free: number;
  same: number;
  conflicts: [string, number, number | null, number | null][];
  conflictCount: number;
}

/** One series of a batch as the restore keeps it: its key in the target, counts, attributes. */
interface Kept {
  key: string;
  points: number;
  /** For a series with rewritten ticks: every tick kept, so each counts once (the last value wins). */
  ticks?: Set<Long64>;
  first: Long64 | null;
  last: Long64 | null;
  attributes: Record<string, string>;
}

/** Class and labels, order-free: matches a decoded series to its batch manifest entry. */
const nameKey = (cls: string, labels: Record<string, string>) =>
  JSON.stringify([cls, Object.entries(labels).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))]);
const nameKeyOf = (selector: string) => {
  const n = parseSeriesName(selector);
  return nameKey(n.cls, n.labels);
};

/** A TOSELECTOR selector without the labels Warp 10 sets from the token (.app, .owner, .producer). */
export function withoutTokenLabels(selector: string): string {
  const open = selector.indexOf('{');
  const labels = selector.slice(open + 1, -1);
  const kept = labels === '' ? [] : labels.split(',').filter((l) => !/^\.(app|owner|producer)=/.test(l));
  return `${selector.slice(0, open)}{${kept.join(',')}}`;
}

export function inputFailure(err: unknown, batch?: number): unknown {
  if (err instanceof ArchiveInputError) return nonRetryable(err.type, err.message, batch);
  if (err instanceof ConfigError || err instanceof SecretError) {
    return ApplicationFailure.create({ type: 'ConfigError', message: err.message, nonRetryable: true });
  }
  return err;
}

/** The Warp 10 a restore writes into, as the worker's runtime resolves it (`Runtime.restoreTarget`). */
export interface RestoreTarget {
  /** 'default' for the configured Warp 10. */
  name: string;
  url: string;
  runner: FeedingRunner;
  /** For /api/v0/update: a restore streams its points there. */
  client: Warp10Client;
  tokens: { read: string; write: string };
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
    if (!month) throw new ArchiveInputError('NoSuchArchive', `no manifest for ${input.month}`);
    const m = await readBatchManifest(store, input, batch);
    if (!m) throw new ArchiveInputError('ArchiveCorrupt', `batch ${batch} has no manifest`);
    const count = 1 + (m.supplements?.length ?? 0);
    const key = count > 1 ? `${m.object.key} (+${count - 1} supplement(s))` : m.object.key;
    const corrupt = (object: string, what: string) =>
      nonRetryable('ArchiveCorrupt', `batch ${batch}: ${object} ${what}; nothing of it was restored`, batch);

    const window = restoreWindow(input, month.range);
    const selector = input.series === undefined ? undefined : parseSeriesSelector(input.series);
    const chosen = selectedSeries(m, selector, window);
    // The batch's export, then its supplements (late data): every point of the batch exactly once. For
    // a selection of series, a seekable object is read member by member: only its series' members.
    const objects = batchObjects(m, selector ? new Set(chosen.map((s) => s.selector)) : undefined);
    const byName = new Map(chosen.map((s) => [nameKeyOf(s.selector), withoutTokenLabels(s.selector)]));
    const keep = (cls: string, labels: Record<string, string>) => byName.has(nameKey(cls, labels));
    // Series a supplement rewrote at archived ticks: written in object order, so Warp 10 keeps the newest
    // value of a tick; counted by distinct ticks.
    const rewrittenNames = new Set(
      (m.supplements ?? []).flatMap((x) =>
        x.series.filter((e) => (e.rewritten ?? 0) > 0).map((e) => nameKeyOf(e.selector)),
      ),
    );
    const ticks = (cls: string, labels: Record<string, string>) => rewrittenNames.has(nameKey(cls, labels));
    /** The lines of what is read of `o` (whole, hashed into `hash`, or its members, each checked). */
    async function* objectLines(o: ObjectRead, hash?: Hash): AsyncGenerator<string> {
      if (!o.members) {
        const body = await store.get(o.key);
        yield* gzipLines(
          hash
            ? (async function* () {
                for await (const chunk of body) {
                  hash.update(chunk);
                  yield chunk;
                }
              })()
            : body,
        );
        return;
      }
      for (const member of o.members) {
        const bytes = await store.getRange(o.key, member.offset, member.bytes);
        const sha = createHash('sha256').update(bytes).digest('hex');
        if (sha !== member.sha256) {
          throw corrupt(
            o.key,
            `is corrupt: its member at byte ${member.offset} has SHA-256 ${sha}, the manifest says ${member.sha256}`,
          );
        }
        yield* gzipLines([bytes]);
      }
    }
    let decoded = 0;
    const total: RestoreBatchResult = {
      batch,
      series: 0,
      points: 0,
      bytes: chosen.length > 0 ? objects.reduce((n, o) => n + o.bytes, 0) : 0,
      free: 0,
      same: 0,
      conflicts: [],
      conflictCount: 0,
      written: 0,
      verified: 0,
      attributes: 0,
    };
    const whole = input.from === undefined && input.to === undefined;
    const expectedPoints = chosen.reduce((n, s) => n + s.points, 0);

    // First pass over the object, before anything is sent: its SHA-256 against the manifest, and every
    // line decoded and counted. The check does it too, so a corrupt batch, or one this worker cannot
    // decode, is found before any batch is written.
    const kept = new Map<string, Kept>();
    const started = Date.now();
    // For a write, the batch as GTS input text (up to HOLD_BYTES), so it is encoded once. Held as
    // buffers, outside the JS heap: held strings were promoted and collected again and again.
    let held: Buffer[] | undefined = write ? [] : undefined;
    let heldBytes = 0;
    for (const o of objects) {
      const hash = createHash('sha256');
      let lines = 0;
      try {
        for await (const line of objectLines(o, hash)) {
          lines++;
          const s = wrappedToInput(line, window, { text: held !== undefined, keep, ticks });
          if (s && s.points > 0) {
            decoded += s.points;
            const k = byName.get(nameKey(s.cls, s.labels)) as string;
            const seen = kept.get(k);
            if (seen) {
              // A supplement adds other points of a series (or newer values of its ticks): counts add
              // up, or count distinct ticks; the range widens.
              if (seen.ticks && s.ticks) {
                for (const t of s.ticks) seen.ticks.add(t);
                seen.points = seen.ticks.size;
              } else seen.points += s.points;
              if (s.first !== null && (seen.first === null || s.first < seen.first)) seen.first = s.first;
              if (s.last !== null && (seen.last === null || s.last > seen.last)) seen.last = s.last;
            } else {
              kept.set(k, {
                key: k,
                points: s.points,
                ...(s.ticks ? { ticks: new Set(s.ticks) } : {}),
                first: s.first,
                last: s.last,
                attributes: s.attributes,
              });
            }
            heldBytes += s.bytes.length;
            if (held && heldBytes <= HOLD_BYTES) held.push(s.bytes);
            else held = undefined;
          }
        }
      } catch (err) {
        const zlib =
          typeof (err as { code?: unknown }).code === 'string' && /^Z_/.test((err as { code: string }).code);
        if (err instanceof WrapDecodeError || err instanceof LineTooLongError || zlib) {
          throw corrupt(o.key, `is corrupt: line ${lines + 1} does not decode (${(err as Error).message})`);
        }
        throw err;
      }
      const sha = hash.digest('hex');
      if (!o.members && sha !== o.sha256) {
        throw corrupt(o.key, `is corrupt: its SHA-256 is ${sha}, the manifest says ${o.sha256}`);
      }
      if (lines !== o.lines) throw corrupt(o.key, `holds ${lines} series, its manifest ${o.lines}`);
    }
    total.series = kept.size;
    total.points = [...kept.values()].reduce((n, s) => n + s.points, 0);
    // Without a window every selected series is restored whole: the counts must be the manifest's.
    if (whole && (total.series !== chosen.length || total.points !== expectedPoints)) {
      throw nonRetryable(
        'RestoreMismatch',
        `batch ${batch}: ${key} gave ${total.series} series and ${total.points} points for the selection, its manifest ${chosen.length} series and ${expectedPoints} points`,
        batch,
      );
    }
    heartbeat({ batch, checked: key });
    if (kept.size === 0) return total;
    const expected = Object.fromEntries([...kept.values()].map((s) => [s.key, [s.points, s.first, s.last]]));

    if (!write) {
      const [r] = await target.runner.run<[CheckResult]>(
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
      return {
        ...total,
        free: r.free,
        same: r.same,
        conflictCount: r.conflictCount,
        conflicts: r.conflicts.map(([series, livePoints, first, last]) => ({
          series,
          livePoints,
          first,
          last,
        })),
      };
    }

    // The send, to /api/v0/update in one streamed request (the token in its header only): the text
    // encoded in the first pass, or for a batch too large to hold, encoded again from a second read.
    const readMs = Date.now() - started;
    let sent = 0;
    const text = async function* (): AsyncGenerator<Uint8Array> {
      if (held) {
        sent = decoded;
        yield* held;
        return;
      }
      let n = 0;
      for (const o of objects) {
        for await (const line of objectLines(o)) {
          const s = wrappedToInput(line, window, { text: true, keep, ticks });
          if (s && s.points > 0) {
            sent += s.points;
            yield s.bytes;
          }
          if (++n % 50 === 0) heartbeat({ batch, lines: n });
        }
      }
    };
    await target.client.update(target.tokens.write, text(), cancellationSignal());
    if (sent !== decoded) {
      throw nonRetryable(
        'RestoreMismatch',
        `batch ${batch}: ${key} gave ${sent} points on the second read, ${decoded} on the first`,
        batch,
      );
    }
    total.written = sent;
    const sentAt = Date.now();
    const withAttributes = [...kept.values()].filter((s) => Object.keys(s.attributes).length > 0);
    const [v] = await target.runner.run<[{ verified: number; attributes: number }]>(
      'restore-verify',
      {
        readToken: target.tokens.read,
        writeToken: target.tokens.write,
        expected,
        attributes: Object.fromEntries(withAttributes.map((s) => [s.key, s.attributes])),
        merge: input.merge ?? false,
        start: window.startUs,
        end: window.lastUs,
      },
      cancellationSignal(),
    );
    total.verified = v.verified;
    total.attributes = v.attributes;
    total.timings = { readMs, sendMs: sentAt - started - readMs, verifyMs: Date.now() - sentAt };
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
