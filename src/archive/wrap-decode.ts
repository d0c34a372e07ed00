// Reads a WRAPped Geo Time Series (one line of a batch object) without Warp 10: order-preserving base64,
// then a Thrift (compact protocol) GTSWrapper, then the GTS encoding itself, walked point by point to
// decode every point exactly (timestamps, GeoXPPoints, elevations and values of the four types, 64-bit
// longs as bigints beyond 2^53). Written from the format (Warp 10's GTSWrapper Thrift definition,
// GTSEncoder flags and GTSDecoder.next()). Pure and synchronous (node:zlib's gunzipSync for compressed
// wrappers): `verify-archive` counts with it, the restore turns it into GTS input text.
import { gunzipSync } from 'node:zlib';

export class WrapDecodeError extends Error {
  override name = 'WrapDecodeError';
}

const ALPHABET = '.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
const INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) INDEX[ALPHABET.charCodeAt(i)] = i;

/** Warp 10's OrderPreservingBase64: base64's bit layout, its own ordered alphabet, no padding. */
export function opb64Decode(text: string): Buffer {
  if (text.length % 4 === 1) throw new WrapDecodeError(`not order-preserving base64 (length ${text.length})`);
  const out = Buffer.allocUnsafe(Math.floor((text.length * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? (INDEX[c] ?? -1) : -1;
    if (v < 0)
      throw new WrapDecodeError(`not order-preserving base64: character ${JSON.stringify(text[i])} at ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

// ---------------------------------------------------------------------------------------------
// Thrift compact protocol, just what a GTSWrapper needs.

type TValue = boolean | number | bigint | Buffer | TStruct | TValue[] | Map<TValue, TValue>;
type TStruct = Map<number, TValue>;

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  byte(): number {
    if (this.pos >= this.buf.length) throw new WrapDecodeError('truncated data');
    return this.buf[this.pos++] as number;
  }

  /** Unsigned LEB128 varint as a bigint (64-bit values). */
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new WrapDecodeError('varint longer than 10 bytes');
  }

  /** Unsigned varint that fits a JavaScript number (lengths, sizes). */
  smallVarint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new WrapDecodeError('length varint too long');
  }

  skipVarint(): void {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return;
    throw new WrapDecodeError('varint longer than 10 bytes');
  }

  zigzag(): bigint {
    const n = this.varint();
    return BigInt.asIntN(64, (n >> 1n) ^ -(n & 1n));
  }

  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new WrapDecodeError('truncated data');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  skip(n: number): void {
    this.bytes(n);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

function readValue(r: Reader, type: number, depth: number): TValue {
  if (depth > 16) throw new WrapDecodeError('nesting too deep');
  switch (type) {
    case 1:
      return true;
    case 2:
      return false;
    case 3:
      return r.byte();
    case 4:
    case 5:
    case 6:
      return r.zigzag();
    case 7:
      return r.bytes(8).readDoubleLE(0);
    case 8:
      return r.bytes(r.smallVarint());
    case 9:
    case 10: {
      const h = r.byte();
      const size = h >> 4 === 15 ? r.smallVarint() : h >> 4;
      const et = h & 0x0f;
      const out: TValue[] = [];
      for (let i = 0; i < size; i++)
        out.push(et === 1 || et === 2 ? r.byte() === 1 : readValue(r, et, depth + 1));
      return out;
    }
    case 11: {
      const size = r.smallVarint();
      const m = new Map<TValue, TValue>();
      if (size === 0) return m;
      const kv = r.byte();
      for (let i = 0; i < size; i++) {
        const k = readValue(r, kv >> 4, depth + 1);
        m.set(k, readValue(r, kv & 0x0f, depth + 1));
      }
      return m;
    }
    case 12:
      return readStruct(r, depth + 1);
    default:
      throw new WrapDecodeError(`unknown Thrift type ${type}`);
  }
}

function readStruct(r: Reader, depth = 0): TStruct {
  const s: TStruct = new Map();
  let last = 0;
  for (;;) {
    const h = r.byte();
    if (h === 0) return s;
    const delta = h >> 4;
    const id = delta === 0 ? Number(r.zigzag()) : last + delta;
    last = id;
    s.set(id, readValue(r, h & 0x0f, depth));
  }
}

// ---------------------------------------------------------------------------------------------
// The GTS encoding (GTSEncoder): one flag byte per point, maybe a location/elevation flag byte, the
// timestamp (delta or raw), then location, elevation and value in their own encodings.

export interface WrappedSeries {
  cls: string;
  labels: Record<string, string>;
  attributes: Record<string, string>;
  /** Points (delete markers excluded), first and last tick (null when empty). */
  points: number;
  first: number | null;
  last: number | null;
}

const text = (v: TValue | undefined) => (Buffer.isBuffer(v) ? v.toString('utf8') : undefined);

function stringMap(v: TValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (v instanceof Map) for (const [k, x] of v) out[text(k) ?? ''] = text(x) ?? '';
  return out;
}

/**
 * A 64-bit Warp 10 long (timestamps, long values, GeoXPPoints, elevations), exact: a number when it is a
 * safe integer, a bigint beyond 2^53.
 */
export type Long64 = number | bigint;

const norm = (v: bigint): Long64 => (v >= -0x1fffffffffffffn && v <= 0x1fffffffffffffn ? Number(v) : v);

/** Java `long` addition (wraps around at 64 bits), exact. */
function add64(a: Long64, b: Long64): Long64 {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (Number.isSafeInteger(r)) return r;
  }
  return norm(BigInt.asIntN(64, BigInt(a) + BigInt(b)));
}

/** Unsigned LEB128 varint: a number while it fits 49 bits (the common case), else a bigint. */
function uvar(r: Reader): Long64 {
  const start = r.pos;
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 7; i++) {
    const b = r.byte();
    result += (b & 0x7f) * mul;
    if (b < 0x80) return result;
    mul *= 128;
  }
  r.pos = start;
  return r.varint();
}

/** Zigzag-encoded signed varint (Warp 10's Varint.decodeSignedLong), exact. */
function zz(r: Reader): Long64 {
  const n = uvar(r);
  if (typeof n === 'number') return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  return norm(BigInt.asIntN(64, (n >> 1n) ^ -(n & 1n)));
}

/** Big-endian 8-byte Java long, exact. */
function raw64(r: Reader): Long64 {
  const b = r.bytes(8);
  const hi = b.readInt32BE(0);
  if (hi >= -0x200000 && hi < 0x200000) return hi * 0x100000000 + b.readUInt32BE(4);
  return norm(b.readBigInt64BE(0));
}

export type PointType = 'LONG' | 'DOUBLE' | 'BOOLEAN' | 'STRING' | 'BINARY';

/** One decoded point. Reused between calls to the visitor: copy what you keep. */
export interface DecodedPoint {
  ts: Long64;
  /** GeoXPPoint (Warp 10's 64-bit cell of the location), null without a location. */
  geo: Long64 | null;
  /** Elevation (mm), null without one. */
  elev: Long64 | null;
  type: PointType;
  /** LONG: Long64; DOUBLE: number; BOOLEAN: boolean; STRING: the UTF-8 bytes; BINARY: the bytes. */
  value: Long64 | number | boolean | Buffer;
}

// GeoTimeSerie.NO_LOCATION and NO_ELEVATION: what the decoder's state holds after a point without them.
const GEO_NONE: Long64 = 0x0145014501450145n;
const ELEV_NONE: Long64 = -0x8000000000000000n;

/**
 * Walks a GTS encoding point by point exactly as Warp 10's GTSDecoder.next() does (same flags, same
 * "identical" and "delta from previous" states), calling `visit` for every point that is not a delete
 * marker. Values are decoded exactly: longs as Long64, doubles (IEEE 754 or Warp 10's compact decimal
 * form) as the double Warp 10 would return, strings as their bytes.
 */
export function walkEncoded(data: Buffer, base: Long64, visit: (p: DecodedPoint) => void): void {
  const r = new Reader(data);
  const p: DecodedPoint = { ts: 0, geo: null, elev: null, type: 'LONG', value: 0 };
  // GTSDecoder's running state ("last" values), the references for identical and delta flags.
  let ts: Long64 = 0;
  let geo: Long64 = GEO_NONE;
  let elev: Long64 = ELEV_NONE;
  let long: Long64 = 0x7fffffffffffffffn;
  let dbl = NaN;
  let str: Buffer = Buffer.alloc(0);
  while (r.remaining > 0) {
    const flag = r.byte();
    if (flag === 0x00) throw new WrapDecodeError('encrypted data in a wrapped series');
    const le = (flag & 0x80) !== 0 ? r.byte() : 0;
    switch (flag & 0x60) {
      case 0x60:
        ts = raw64(r);
        break;
      case 0x20:
        ts = base;
        break;
      case 0x40:
        ts = add64(base, zz(r));
        break;
      default:
        ts = add64(ts, zz(r));
    }
    let hasGeo = false;
    if ((le & 0x40) !== 0) {
      hasGeo = true;
      if ((le & 0x10) === 0) geo = (le & 0x20) !== 0 ? add64(geo, zz(r)) : raw64(r);
    } else geo = GEO_NONE;
    let hasElev = false;
    if ((le & 0x08) !== 0) {
      hasElev = true;
      if ((le & 0x01) === 0) {
        const e = (le & 0x04) !== 0 ? zz(r) : raw64(r);
        elev = (le & 0x02) !== 0 ? add64(elev, e) : e;
      }
    } else elev = ELEV_NONE;
    switch (flag & 0x18) {
      case 0x08: // LONG: zigzag varint or raw, maybe a delta from the previous value
        if ((flag & 0x01) === 0) {
          const v = (flag & 0x04) !== 0 ? zz(r) : raw64(r);
          long = (flag & 0x02) !== 0 ? add64(long, v) : v;
        }
        p.type = 'LONG';
        p.value = long;
        break;
      case 0x10: // DOUBLE: IEEE 754, or a decimal (scale byte + zigzag unscaled value)
        if ((flag & 0x01) === 0) {
          if ((flag & 0x04) !== 0) dbl = r.bytes(8).readDoubleBE(0);
          else {
            const scale = r.bytes(1).readInt8(0);
            // BigDecimal.valueOf(unscaled, scale).doubleValue(): the decimal, correctly rounded.
            dbl = Number(`${zz(r)}e${-scale}`);
          }
        }
        p.type = 'DOUBLE';
        p.value = dbl;
        break;
      case 0x18: // STRING, or bytes when flagged binary
        if ((flag & 0x01) === 0) str = r.bytes(r.smallVarint());
        p.type = (flag & 0x02) !== 0 ? 'BINARY' : 'STRING';
        p.value = str;
        break;
      default: {
        const b = flag & 0x07;
        if (b === 0x07) continue; // a delete marker, not a point
        if (b !== 0x04 && b !== 0x02)
          throw new WrapDecodeError(`invalid boolean flags 0x${flag.toString(16)}`);
        p.type = 'BOOLEAN';
        p.value = b === 0x04;
      }
    }
    p.ts = ts;
    p.geo = hasGeo ? geo : null;
    p.elev = hasElev ? elev : null;
    visit(p);
  }
}

const less = (a: Long64, b: Long64) => a < b;

function walkPoints(
  data: Buffer,
  base: Long64,
): { points: number; first: number | null; last: number | null } {
  let min: Long64 | undefined;
  let max: Long64 | undefined;
  let points = 0;
  walkEncoded(data, base, (p) => {
    points++;
    if (min === undefined || less(p.ts, min)) min = p.ts;
    if (max === undefined || less(max, p.ts)) max = p.ts;
  });
  return {
    points,
    first: min === undefined ? null : Number(min),
    last: max === undefined ? null : Number(max),
  };
}

/** A WRAPped series' metadata and its (uncompressed) GTS encoding. */
export interface Wrapper {
  cls: string;
  labels: Record<string, string>;
  attributes: Record<string, string>;
  base: Long64;
  encoded: Buffer;
}

/** A WRAPped series' class and labels alone: its points are not decompressed (an erasure tells lines apart by them). */
export function wrappedName(line: string): { cls: string; labels: Record<string, string> } {
  const meta = readStruct(new Reader(opb64Decode(line.trim()))).get(1);
  if (!(meta instanceof Map)) throw new WrapDecodeError('no metadata in the wrapper');
  const cls = text(meta.get(1));
  if (cls === undefined) throw new WrapDecodeError('no class name in the metadata');
  return { cls, labels: stringMap(meta.get(2)) };
}

/** Reads the wrapper of one WRAPped series; throws WrapDecodeError when it is not one. */
export function parseWrapper(line: string): Wrapper {
  const wrapper = readStruct(new Reader(opb64Decode(line.trim())));
  const meta = wrapper.get(1);
  if (!(meta instanceof Map)) throw new WrapDecodeError('no metadata in the wrapper');
  const cls = text(meta.get(1));
  if (cls === undefined) throw new WrapDecodeError('no class name in the metadata');
  const base = typeof wrapper.get(6) === 'bigint' ? norm(wrapper.get(6) as bigint) : 0;
  let encoded = wrapper.get(7);
  if (encoded !== undefined && !Buffer.isBuffer(encoded))
    throw new WrapDecodeError('encoded data is not binary');
  if (wrapper.get(9) === true && encoded) {
    const passes = typeof wrapper.get(10) === 'bigint' ? Number(wrapper.get(10)) : 1;
    if (passes < 1 || passes > 16) throw new WrapDecodeError(`implausible compression passes ${passes}`);
    try {
      for (let i = 0; i < passes; i++) encoded = gunzipSync(encoded);
    } catch (err) {
      throw new WrapDecodeError(`compressed data does not gunzip: ${(err as Error).message}`);
    }
  }
  return {
    cls,
    labels: stringMap(meta.get(2)),
    attributes: stringMap(meta.get(5)),
    base,
    encoded: encoded ?? Buffer.alloc(0),
  };
}

/** Decodes one WRAPped series' metadata and counts; throws WrapDecodeError when it is not one. */
export function decodeWrapped(line: string): WrappedSeries {
  const w = parseWrapper(line);
  return { cls: w.cls, labels: w.labels, attributes: w.attributes, ...walkPoints(w.encoded, w.base) };
}
