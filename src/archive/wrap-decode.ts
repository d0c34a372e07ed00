// Reads a WRAPped Geo Time Series (one line of a batch object) without Warp 10: order-preserving base64,
// then a Thrift (compact protocol) GTSWrapper, then the GTS encoding itself, walked point by point to
// count the points and find the first and last tick. Written from the format (Warp 10's GTSWrapper
// Thrift definition and GTSEncoder flags); values, locations and elevations are skipped, not decoded.
// Pure and synchronous (node:zlib's gunzipSync for compressed wrappers): `verify-archive` uses it.
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

function walkPoints(
  data: Buffer,
  base: bigint,
): { points: number; first: number | null; last: number | null } {
  const r = new Reader(data);
  let ts = 0n;
  let min: bigint | undefined;
  let max: bigint | undefined;
  let points = 0;
  while (r.remaining > 0) {
    const flag = r.byte();
    if (flag === 0x00) throw new WrapDecodeError('encrypted data in a wrapped series');
    const locElev = (flag & 0x80) !== 0 ? r.byte() : 0;
    switch (flag & 0x60) {
      case 0x60:
        ts = r.bytes(8).readBigInt64BE(0);
        break;
      case 0x20:
        ts = base;
        break;
      case 0x40:
        ts = base + r.zigzag();
        break;
      default:
        ts = ts + r.zigzag();
    }
    if ((locElev & 0x40) !== 0 && (locElev & 0x10) === 0) {
      if ((locElev & 0x20) !== 0) r.skipVarint();
      else r.skip(8);
    }
    if ((locElev & 0x08) !== 0 && (locElev & 0x01) === 0) {
      if ((locElev & 0x04) !== 0) r.skipVarint();
      else r.skip(8);
    }
    let deleteMarker = false;
    switch (flag & 0x18) {
      case 0x08: // LONG
        if ((flag & 0x01) === 0) {
          if ((flag & 0x04) !== 0) r.skipVarint();
          else r.skip(8);
        }
        break;
      case 0x10: // DOUBLE: IEEE 754, or a BigDecimal (scale byte + zigzag unscaled value)
        if ((flag & 0x01) === 0) {
          if ((flag & 0x04) !== 0) r.skip(8);
          else {
            r.skip(1);
            r.skipVarint();
          }
        }
        break;
      case 0x18: // STRING (or bytes)
        if ((flag & 0x01) === 0) r.skip(r.smallVarint());
        break;
      default: {
        const b = flag & 0x07;
        if (b === 0x07) deleteMarker = true;
        else if (b !== 0x04 && b !== 0x02)
          throw new WrapDecodeError(`invalid boolean flags 0x${flag.toString(16)}`);
      }
    }
    if (deleteMarker) continue;
    points++;
    if (min === undefined || ts < min) min = ts;
    if (max === undefined || ts > max) max = ts;
  }
  return {
    points,
    first: min === undefined ? null : Number(min),
    last: max === undefined ? null : Number(max),
  };
}

/** Decodes one WRAPped series; throws WrapDecodeError when it is not one. */
export function decodeWrapped(line: string): WrappedSeries {
  const wrapper = readStruct(new Reader(opb64Decode(line.trim())));
  const meta = wrapper.get(1);
  if (!(meta instanceof Map)) throw new WrapDecodeError('no metadata in the wrapper');
  const cls = text(meta.get(1));
  if (cls === undefined) throw new WrapDecodeError('no class name in the metadata');
  const base = typeof wrapper.get(6) === 'bigint' ? (wrapper.get(6) as bigint) : 0n;
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
  const counted = walkPoints(encoded ?? Buffer.alloc(0), base);
  return {
    cls,
    labels: stringMap(meta.get(2)),
    attributes: stringMap(meta.get(5)),
    ...counted,
  };
}
