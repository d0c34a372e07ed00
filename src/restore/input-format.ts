// A WRAPped series (one line of a batch object) as Warp 10's GTS input format, the text /api/v0/update
// ingests: `TS/GEO/ELEV class{labels} VALUE` for a series' first point, then `=TS/GEO/ELEV VALUE`
// continuation lines. Exact by construction, checked against Warp 10 in the tests:
// - the location is written as the raw GeoXPPoint (a long: the update parser takes it without a colon),
//   so no latitude/longitude rounding can move a point to another cell;
// - longs (timestamps, values, elevations) are 64-bit, printed from numbers or bigints;
// - a double is printed so that it is never read as a long (`2.0`) and parses back to the same double
//   (shortest round-trip digits, NaN, Infinity, -0.0);
// - class, label names and values, and string values are percent-encoded byte by byte from their UTF-8
//   (Warp 10 URL-decodes them), so separators, quotes, `%`, `+`, newlines and unicode all survive;
// - binary values are written `b64:`.
import { parseWrapper, walkEncoded, type DecodedPoint, type Long64 } from '../archive/wrap-decode.ts';

// Bytes written as themselves: unreserved URL characters, never special in the input format.
const PCT: string[] = Array.from({ length: 256 }, (_, b) =>
  /[A-Za-z0-9._~-]/.test(String.fromCharCode(b))
    ? String.fromCharCode(b)
    : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
);

export function percentBytes(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += PCT[bytes[i] as number];
  return out;
}

export const percent = (s: string): string => percentBytes(Buffer.from(s, 'utf8'));

/** A double as input-format text Warp 10 parses back to the same double, never to a long. */
export function formatDouble(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
  // `-0.0` would be read as a decimal (BigDecimal) and lose its sign; the exponent form is parsed as a double.
  if (x === 0 && 1 / x < 0) return '-0.0E0';
  const s = String(x);
  return s.indexOf('.') < 0 && s.indexOf('e') < 0 ? `${s}.0` : s;
}

export function formatValue(p: DecodedPoint): string {
  switch (p.type) {
    case 'LONG':
      return String(p.value);
    case 'DOUBLE':
      return formatDouble(p.value as number);
    case 'BOOLEAN':
      return p.value ? 'T' : 'F';
    case 'STRING':
      return `'${percentBytes(p.value as Buffer)}'`;
    case 'BINARY':
      return `b64:${(p.value as Buffer).toString('base64')}`;
  }
}

/** `class{labels}`, percent-encoded. */
export function seriesName(cls: string, labels: Record<string, string>): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `${percent(k)}=${percent(v)}`)
    .join(',');
  return `${percent(cls)}{${l}}`;
}

export interface SeriesInput {
  cls: string;
  labels: Record<string, string>;
  attributes: Record<string, string>;
  /** Points kept (inside the window), and their first and last tick. */
  points: number;
  first: Long64 | null;
  last: Long64 | null;
  /** The kept points' ticks, when asked for (`ticks`): a series with rewritten ticks counts them once. */
  ticks?: Long64[];
  /** The kept points as input-format lines, ASCII bytes (empty when none kept or no `text` asked for). */
  bytes: Buffer;
  /** The same as a string. */
  readonly text: string;
}

/**
 * An ASCII buffer that grows: the text of a series is written byte by byte, with no string per point
 * (a string per point made the encoding and its garbage collection most of the worker's CPU).
 */
class AsciiWriter {
  buf: Buffer;
  n = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(256, size));
  }
  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
  byte(c: number): void {
    this.room(1);
    this.buf[this.n++] = c;
  }
  /** An ASCII string (every string written here is: digits, percent-encoded names, base64). */
  str(t: string): void {
    this.room(t.length);
    this.n += this.buf.write(t, this.n, 'latin1');
  }
  /** A 64-bit long in decimal. */
  long(v: Long64): void {
    if (typeof v === 'bigint' || !Number.isSafeInteger(v)) return this.str(String(v));
    this.room(21);
    if (v < 0) {
      this.buf[this.n++] = 0x2d;
      v = -v;
    }
    // Two int32 halves (below 2^53, the high one is below 10^8): integer digit loops, no float division.
    const hi = Math.floor(v / 1e8);
    const lo = v - hi * 1e8;
    if (hi > 0) {
      this.digits(hi, 0);
      this.digits(lo, 8);
    } else this.digits(lo, 0);
  }
  /** An int32 in decimal, left-padded with zeros to `width` digits. */
  private digits(x: number, width: number): void {
    let len = 1;
    for (let y = (x / 10) | 0; y > 0; y = (y / 10) | 0) len++;
    if (len < width) len = width;
    let end = this.n + len;
    this.n = end;
    for (let i = 0; i < len; i++) {
      this.buf[--end] = 0x30 + (x % 10);
      x = (x / 10) | 0;
    }
  }
  take(): Buffer {
    return this.buf.subarray(0, this.n);
  }
}

const SLASH = 0x2f;
const SPACE = 0x20;
const NL = 0x0a;
const EQ = 0x3d;
const EMPTY = Buffer.alloc(0);

/**
 * Decodes one WRAPped series and keeps its points in [startUs, lastUs] (both inclusive). With `text`
 * false only counts them (a check). Throws WrapDecodeError when the line is not a WRAPped series.
 */
export function wrappedToInput(
  line: string,
  window: { startUs: Long64; lastUs: Long64 },
  opts: {
    text: boolean;
    keep?: (cls: string, labels: Record<string, string>) => boolean;
    ticks?: (cls: string, labels: Record<string, string>) => boolean;
  },
): SeriesInput | undefined {
  const w = parseWrapper(line);
  if (opts.keep && !opts.keep(w.cls, w.labels)) return undefined;
  const { startUs, lastUs } = window;
  let points = 0;
  let first: Long64 | null = null;
  let last: Long64 | null = null;
  // About 4 bytes of text per encoded byte for typical series; the writer grows if not.
  const out = opts.text ? new AsciiWriter(w.encoded.length * 4) : undefined;
  const head = opts.text ? ` ${seriesName(w.cls, w.labels)} ` : '';
  const ticks: Long64[] | undefined = opts.ticks?.(w.cls, w.labels) ? [] : undefined;
  walkEncoded(w.encoded, w.base, (p) => {
    if (p.ts < startUs || p.ts > lastUs) return;
    ticks?.push(p.ts);
    if (first === null || p.ts < first) first = p.ts;
    if (last === null || p.ts > last) last = p.ts;
    if (out) {
      if (points > 0) out.byte(EQ);
      out.long(p.ts);
      out.byte(SLASH);
      if (p.geo !== null) out.long(p.geo);
      out.byte(SLASH);
      if (p.elev !== null) out.long(p.elev);
      if (points === 0) out.str(head);
      else out.byte(SPACE);
      if (p.type === 'DOUBLE') out.str(formatDouble(p.value as number));
      else if (p.type === 'LONG') out.long(p.value as Long64);
      else out.str(formatValue(p));
      out.byte(NL);
    }
    points++;
  });
  const bytes = out ? out.take() : EMPTY;
  return {
    cls: w.cls,
    labels: w.labels,
    attributes: w.attributes,
    points,
    first,
    last,
    ...(ticks ? { ticks } : {}),
    bytes,
    get text() {
      return bytes.toString('latin1');
    },
  };
}
