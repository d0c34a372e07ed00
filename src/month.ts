// Month arithmetic in an IANA time zone, with Intl only (no tz library).
// Pure and free of I/O, so workflow code may import it too.
import { durationMs } from './duration.ts';

/** A month as the string `YYYY-MM`. */
export type Month = string;

export interface MonthParts {
  year: number;
  /** 1..12 */
  month: number;
}

export interface MonthRange {
  /** First instant of the month in the zone, µs since the epoch (inclusive). */
  startUs: bigint;
  /** First instant of the next month in the zone, µs since the epoch (exclusive). */
  endUs: bigint;
  /** `startUs` as ISO-8601 UTC, e.g. 2026-02-28T23:00:00Z. */
  startIso: string;
  endIso: string;
}

export class MonthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MonthError';
  }
}

const MIN_YEAR = 1970;
const MAX_YEAR = 9999;

/** Validates `YYYY-MM` (4-digit year 1970..9999, 2-digit month 01..12). */
export function parseMonth(s: string): MonthParts {
  if (typeof s !== 'string') {
    throw new MonthError(`expected a month as YYYY-MM (e.g. 2026-01), found a ${typeof s}`);
  }
  const shown = JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s);
  const m = /^(\d{4})-(\d{2})$/.exec(s);
  if (!m) {
    throw new MonthError(
      `invalid month ${shown}: expected YYYY-MM with a 4-digit year and a 2-digit month, e.g. 2026-01`,
    );
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  if (month < 1 || month > 12) {
    throw new MonthError(`invalid month ${shown}: the month must be between 01 and 12`);
  }
  if (year < MIN_YEAR || year > MAX_YEAR) {
    throw new MonthError(`invalid month ${shown}: the year must be between ${MIN_YEAR} and ${MAX_YEAR}`);
  }
  return { year, month };
}

export function formatMonth({ year, month }: MonthParts): Month {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
}

/** `month` shifted by `delta` months (negative goes back). */
export function addMonths(month: Month, delta: number): Month {
  const { year, month: m } = parseMonth(month);
  const index = year * 12 + (m - 1) + delta;
  return formatMonth(fromIndex(index));
}

/** -1, 0 or 1, like a sort comparator. */
export function compareMonths(a: Month, b: Month): number {
  const d = toIndex(parseMonth(a)) - toIndex(parseMonth(b));
  return d < 0 ? -1 : d > 0 ? 1 : 0;
}

/** The month containing `at` in `timeZone`. */
export function monthOf(at: Date, timeZone: string): Month {
  const p = localParts(at.getTime(), timeZone);
  return formatMonth({ year: p.year, month: p.month });
}

/** The month before the one containing `at` in `timeZone` (what a monthly schedule archives). */
export function previousMonth(at: Date, timeZone: string): Month {
  return addMonths(monthOf(at, timeZone), -1);
}

/** Throws unless `month` is complete at `now` in `timeZone`, i.e. strictly before the current month. */
export function assertArchivableMonth(month: Month, now: Date, timeZone: string): void {
  const current = monthOf(now, timeZone);
  const cmp = compareMonths(month, current);
  if (cmp < 0) return;
  const latest = addMonths(current, -1);
  const where =
    cmp === 0
      ? `${month} is the current month in ${timeZone}`
      : `${month} is in the future in ${timeZone} (the current month is ${current})`;
  throw new MonthError(`${where}; only complete months can be archived (the latest is ${latest})`);
}

/** Every month from `from` to `to`, both included, ascending. */
export function monthsBetween(from: Month, to: Month): Month[] {
  const a = toIndex(parseMonth(from));
  const b = toIndex(parseMonth(to));
  if (a > b) throw new MonthError(`invalid month range: ${from} is after ${to}`);
  const out: Month[] = [];
  for (let i = a; i <= b; i++) out.push(formatMonth(fromIndex(i)));
  return out;
}

/** The month's bounds in `timeZone`: [first instant, first instant of the next month). */
export function monthRange(month: Month, timeZone: string): MonthRange {
  const p = parseMonth(month);
  const next = fromIndex(toIndex(p) + 1);
  const startMs = startOfMonthMs(p, timeZone);
  const endMs = startOfMonthMs(next, timeZone);
  return {
    startUs: BigInt(startMs) * 1000n,
    endUs: BigInt(endMs) * 1000n,
    startIso: isoSeconds(startMs),
    endIso: isoSeconds(endMs),
  };
}

// ---------------------------------------------------------------------------------------------

function toIndex({ year, month }: MonthParts): number {
  return year * 12 + (month - 1);
}

function fromIndex(index: number): MonthParts {
  return { year: Math.floor(index / 12), month: (((index % 12) + 12) % 12) + 1 };
}

function isoSeconds(ms: number): string {
  // Month boundaries fall on whole seconds (zone offsets do), so milliseconds add nothing.
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new MonthError(
        `unknown time zone ${JSON.stringify(timeZone)}: expected an IANA name such as Europe/Paris`,
      );
    }
    formatters.set(timeZone, f);
  }
  return f;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock time at instant `ms` in `timeZone`. */
function localParts(ms: number, timeZone: string): LocalParts {
  const out: LocalParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type in out) out[part.type as keyof LocalParts] = Number(part.value);
  }
  if (out.hour === 24) out.hour = 0; // some ICU versions print midnight as 24 despite h23
  return out;
}

/** The zone's offset from UTC at instant `ms`, in ms (local wall clock minus UTC). */
function offsetMs(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The first instant (ms since the epoch) whose local date in `timeZone` is in `month`. */
function startOfMonthMs(month: MonthParts, timeZone: string): number {
  const target = toIndex(month);
  const before = (ms: number): boolean => {
    const p = localParts(ms, timeZone);
    return toIndex({ year: p.year, month: p.month }) < target;
  };
  const isFirst = (ms: number): boolean => !before(ms) && before(ms - 1000);

  // Local midnight on the 1st: guess with the offset at that wall time, then re-read the offset at
  // the guess until it is stable (the offset on either side of a DST change differs).
  const wall = Date.UTC(month.year, month.month - 1, 1);
  let t = wall - offsetMs(wall, timeZone);
  for (let i = 0; i < 4; i++) {
    const next = wall - offsetMs(t, timeZone);
    if (next === t) break;
    t = next;
  }
  if (isFirst(t)) return t;

  // Midnight on the 1st does not exist or is ambiguous (a DST change at midnight, e.g.
  // America/Asuncion 2017-10-01): search for the first second of the month within a day of it.
  let lo = Math.floor((wall - 86_400_000) / 1000); // seconds; before(lo) holds (offsets < 24 h)
  let hi = Math.floor((wall + 86_400_000) / 1000); // !before(hi)
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (before(mid * 1000)) lo = mid;
    else hi = mid;
  }
  return hi * 1000;
}

/** When a month may be archived: its end in `timeZone` plus `latenessMs` (late points may come until then). */
export function settledAt(config: { timezone: string; lateData: { lateness: string } }, month: Month): Date {
  const end = Number(monthRange(month, config.timezone).endUs) / 1000;
  return new Date(end + (durationMs(config.lateData.lateness) ?? 0));
}
