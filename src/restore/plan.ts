// What a restore will read, decided from the archive store alone: the month must be complete (its
// manifest written), the window inside the month, the selector must match archived series with points
// in the window. The CLI runs it before starting anything (bad input: exit 2, nothing written) and the
// workflow's first activity runs it again, so a run started some other way is checked the same.
import { batchManifestKey, monthManifestKey, monthPrefix, type MonthRef } from '../archive/layout.ts';
import type { BatchManifest, Member, MonthManifest } from '../archive/manifest.ts';
import { ArchiveInputError, readBatchManifest, readMonthManifest } from '../archive/read.ts';
import { SelectorError, parseSeriesName } from '../archive/series-name.ts';
import { quoted } from '../quoted.ts';
import type { ArchiveStore } from '../store/types.ts';
import { matches, parseSelector, type SeriesSelector } from './selector.ts';

/** What a restore asks for. Plain data without secrets: it is the workflow's input. */
export interface RestoreRequest extends MonthRef {
  /** A `restoreTargets` name; the configured Warp 10 when absent. */
  target?: string;
  /** Only the series matching this selector (Warp 10 syntax). */
  series?: string;
  /** ISO-8601 instants: the window [from, to) inside the month. */
  from?: string;
  to?: string;
  /** Write even where the target already holds other points in the window. */
  merge?: boolean;
  dryRun?: boolean;
  /** Batches checked or written at once (default 2). */
  concurrency?: number;
}

export interface RestoreWindow {
  /** First µs restored (inclusive). */
  startUs: number;
  /** Last µs restored (inclusive: Warp 10 ranges include both ends). */
  lastUs: number;
}

export interface RestorePlan {
  /** The batches holding at least one selected series with points in the window, in order. */
  batches: { batch: number; series: number; points: number; object: string; bytes: number }[];
  window: RestoreWindow;
  /** Selected series. */
  series: number;
  /** Points of the selected series in the whole month (exact without --from/--to, an upper bound with). */
  points: number;
  manifest: Pick<MonthManifest, 'series' | 'points' | 'bytes' | 'committedAt'>;
}

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO-8601 instant with a zone (`2026-03-10T00:00:00Z`, `…+01:00`, up to µs) in µs since the epoch. */
export function parseInstantUs(text: string, what = 'an instant'): number {
  const m = INSTANT.exec(text);
  if (!m) {
    throw new ArchiveInputError(
      'InvalidInput',
      `invalid ${what} ${quoted(text)}: expected an ISO-8601 instant with its zone, such as 2026-03-10T00:00:00Z or 2026-03-10T01:00:00+01:00`,
    );
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  const check = new Date(ms);
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s ?? 0) > 59
  ) {
    throw new ArchiveInputError(
      'InvalidInput',
      `invalid ${what} ${quoted(text)}: no such date or time; give a real instant such as 2026-03-10T00:00:00Z`,
    );
  }
  let offsetMin = 0;
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetMin = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  const micros = Number((frac ?? '').padEnd(6, '0'));
  return (ms - offsetMin * 60_000) * 1000 + micros;
}

/** The window [from, to) as inclusive µs bounds, checked to lie inside the month [startUs, endUs). */
export function restoreWindow(
  req: Pick<RestoreRequest, 'from' | 'to' | 'month'>,
  month: { startUs: number; endUs: number },
): RestoreWindow {
  const start = req.from === undefined ? month.startUs : parseInstantUs(req.from, '--from');
  const end = req.to === undefined ? month.endUs : parseInstantUs(req.to, '--to');
  if (start >= end) {
    throw new ArchiveInputError(
      'InvalidInput',
      `--from must be before --to (the window is [from, to)): swap them or widen the window`,
    );
  }
  if (start < month.startUs || end > month.endUs) {
    throw new ArchiveInputError(
      'InvalidInput',
      `the window [${req.from ?? 'month start'}, ${req.to ?? 'month end'}) is not inside ${req.month} ([${new Date(month.startUs / 1000).toISOString()}, ${new Date(month.endUs / 1000).toISOString()})): choose --from and --to inside the month`,
    );
  }
  return { startUs: start, lastUs: end - 1 };
}

export function parseSeriesSelector(text: string): SeriesSelector {
  try {
    return parseSelector(text);
  } catch (err) {
    if (err instanceof SelectorError) throw new ArchiveInputError('InvalidInput', `--series: ${err.message}`);
    throw err;
  }
}

/** The series of a batch a restore writes: matching the selector, with points in the window. */
/**
 * Every series of a batch with all its archived points: its export plus its supplements (late data,
 * never a point twice; a rewritten tick counts once), so counts, first and last cover every object of
 * the batch.
 */
export function batchSeries(m: BatchManifest): BatchManifest['series'] {
  if (!m.supplements?.length) return m.series;
  const all = new Map(m.series.map((s) => [s.selector, { ...s }]));
  for (const sup of m.supplements) {
    for (const x of sup.series) {
      const s = all.get(x.selector);
      const added = x.points - (x.rewritten ?? 0);
      if (!s || s.points === 0) {
        all.set(x.selector, { ...x, points: added });
        continue;
      }
      s.points += added;
      s.first = x.first === null || (s.first !== null && s.first <= x.first) ? s.first : x.first;
      s.last = x.last === null || (s.last !== null && s.last >= x.last) ? s.last : x.last;
    }
  }
  return [...all.values()];
}

/** What a restore reads of one of a batch's objects: all of it, or only some of its gzip members. */
export interface ObjectRead {
  key: string;
  /** Bytes read: the object's, or its chosen members'. */
  bytes: number;
  /** The object's SHA-256 (checked when it is read whole; members have their own). */
  sha256: string;
  /** Lines (series) the part read holds. */
  lines: number;
  /** Only these members (a seekable object and a selection of series), each checked by its SHA-256. */
  members?: Member[];
}

/**
 * The batch's objects, in order: its export, then its supplements. With `only` (the selectors of the
 * series chosen), a seekable object is read member by member: only the members holding those series.
 */
export function batchObjects(m: BatchManifest, only?: ReadonlySet<string>): ObjectRead[] {
  const parts = [
    { object: m.object, series: m.series },
    ...(m.supplements ?? []).map((x) => ({ object: x.object, series: x.series })),
  ];
  return parts.map(({ object, series }) => {
    const withData = series.filter((s) => s.points > 0);
    const whole = { key: object.key, bytes: object.bytes, sha256: object.sha256, lines: withData.length };
    const all = object.members;
    if (!only || !all || withData.some((s) => s.member === undefined || !all[s.member])) return whole;
    const picked = new Set(withData.filter((s) => only.has(s.selector)).map((s) => s.member!));
    const members = [...picked].sort((a, b) => a - b).map((i) => all[i]!);
    return {
      ...whole,
      bytes: members.reduce((n, x) => n + x.bytes, 0),
      lines: withData.filter((s) => picked.has(s.member!)).length,
      members,
    };
  });
}

export function selectedSeries(
  m: BatchManifest,
  selector: SeriesSelector | undefined,
  window: RestoreWindow,
): BatchManifest['series'] {
  return batchSeries(m).filter(
    (s) =>
      s.points > 0 &&
      s.first !== null &&
      s.last !== null &&
      s.last >= window.startUs &&
      s.first <= window.lastUs &&
      (selector === undefined || matches(selector, parseSeriesName(s.selector))),
  );
}

export async function planRestore(store: ArchiveStore, req: RestoreRequest): Promise<RestorePlan> {
  const selector = req.series === undefined ? undefined : parseSeriesSelector(req.series);
  const manifest = await readMonthManifest(store, req);
  const where = `${req.group}/${req.dataset} ${req.month}`;
  if (!manifest) {
    const any = await store.list(monthPrefix(req));
    if (any.length === 0) {
      throw new ArchiveInputError(
        'NoSuchArchive',
        `no archive of ${where} in ${store.description}; check --month, --group and --dataset (npm run verify-archive -- --month ${req.month} lists the archived datasets of a month)`,
      );
    }
    throw new ArchiveInputError(
      'IncompleteMonth',
      `the archive of ${where} is not complete (no manifest.json: its archive run has not finished); finish it with npm run start-archive -- --month ${req.month} --group ${req.group} --dataset ${req.dataset} --wait`,
    );
  }
  const window = restoreWindow(req, manifest.range);
  const batches: RestorePlan['batches'] = [];
  let series = 0;
  let points = 0;
  for (const b of manifest.batches) {
    const m = await readBatchManifest(store, req, b.batch);
    if (!m) {
      throw new ArchiveInputError(
        'ArchiveCorrupt',
        `batch manifest ${batchManifestKey(req, b.batch)} listed in ${monthManifestKey(req)} is missing`,
      );
    }
    const chosen = selectedSeries(m, selector, window);
    if (chosen.length === 0) continue;
    const p = chosen.reduce((n, s) => n + s.points, 0);
    const only = selector ? new Set(chosen.map((s) => s.selector)) : undefined;
    const bytes = batchObjects(m, only).reduce((n, o) => n + o.bytes, 0);
    batches.push({ batch: b.batch, series: chosen.length, points: p, object: b.key, bytes });
    series += chosen.length;
    points += p;
  }
  if (series === 0) {
    const what = [
      selector && req.series !== undefined ? `series ${quoted(req.series)}` : undefined,
      req.from !== undefined || req.to !== undefined
        ? `window [${req.from ?? ''}, ${req.to ?? ''})`
        : undefined,
    ]
      .filter(Boolean)
      .join(' in the ');
    throw new ArchiveInputError(
      'InvalidInput',
      `nothing to restore: the archive of ${where} (${manifest.series} series) holds no point for ${what || 'any series'}; check --series (label=value is exact, label~regex must match the whole value) and --from/--to`,
    );
  }
  return {
    batches,
    window,
    series,
    points,
    manifest: {
      series: manifest.series,
      points: manifest.points,
      bytes: manifest.bytes,
      committedAt: manifest.committedAt,
    },
  };
}
