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
  /** The kept points as input-format lines ('' when none kept or `text` was not asked for). */
  text: string;
}

/**
 * Decodes one WRAPped series and keeps its points in [startUs, lastUs] (both inclusive). With `text`
 * false only counts them (a check). Throws WrapDecodeError when the line is not a WRAPped series.
 */
export function wrappedToInput(
  line: string,
  window: { startUs: Long64; lastUs: Long64 },
  opts: { text: boolean; keep?: (cls: string, labels: Record<string, string>) => boolean },
): SeriesInput | undefined {
  const w = parseWrapper(line);
  if (opts.keep && !opts.keep(w.cls, w.labels)) return undefined;
  const { startUs, lastUs } = window;
  let points = 0;
  let first: Long64 | null = null;
  let last: Long64 | null = null;
  let text = '';
  const head = opts.text ? ` ${seriesName(w.cls, w.labels)} ` : '';
  walkEncoded(w.encoded, w.base, (p) => {
    if (p.ts < startUs || p.ts > lastUs) return;
    if (first === null || p.ts < first) first = p.ts;
    if (last === null || p.ts > last) last = p.ts;
    if (opts.text) {
      const v =
        p.type === 'DOUBLE'
          ? formatDouble(p.value as number)
          : p.type === 'LONG'
            ? String(p.value)
            : formatValue(p);
      const where = p.geo === null && p.elev === null ? '//' : `/${p.geo ?? ''}/${p.elev ?? ''}`;
      text += points === 0 ? `${p.ts}${where}${head}${v}\n` : `=${p.ts}${where} ${v}\n`;
    }
    points++;
  });
  return { cls: w.cls, labels: w.labels, attributes: w.attributes, points, first, last, text };
}
