// The encoder a restore streams to /api/v0/update: WRAPped series → GTS input text. Its pieces by hand
// (a GTS encoding written byte by byte, every flag a restore meets), then the proof it is exact: series
// of every value type, nasty names, locations and elevations, 64-bit extremes, WRAPped by the real
// Warp 10, turned into text, ingested under another class, and read back by Warp 10's own
// /api/v0/fetch text output: line for line the same as the originals. (Binary values are left to the
// byte-level test: a FETCHed series holds them as ISO-8859-1 strings, so WRAP, and the archive, never
// carries the binary flag. Ticks before 1970 are outside what wrap-all.mc2 fetches.)
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { walkEncoded, type DecodedPoint } from '../../src/archive/wrap-decode.ts';
import {
  formatDouble,
  formatValue,
  percent,
  seriesName,
  wrappedToInput,
} from '../../src/restore/input-format.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { httpRunner } from '../../src/warp10/runner.ts';
import { enc } from '../support/nasty-month.ts';
import { uniqueId, warp10OrSkip } from '../support/stack.ts';

const WRAP_ALL = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'wrap-all.mc2');

/** Zigzag varint, as Warp 10's Varint.encodeSignedLong. */
function zz(v: bigint): number[] {
  let n = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  const out: number[] = [];
  do {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? b | 0x80 : b);
  } while (n > 0n);
  return out;
}
const be64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return [...b];
};

describe('GTS input text from WRAPped series', () => {
  test('a GTS encoding decoded point by point: every timestamp, location, elevation and value flag', () => {
    const bytes = [
      // raw absolute tick, raw GeoXPPoint, zigzag elevation, raw long beyond 2^53
      0xe8,
      0x4c,
      ...be64(1_000_000n),
      ...be64(0x4000000040000000n),
      ...zz(-170n),
      ...be64(2n ** 53n + 1n),
      // tick delta from previous, GeoXPPoint delta, elevation delta, long zigzag delta from previous
      0x8e,
      0x6e,
      ...zz(10n),
      ...zz(-1n),
      ...zz(5n),
      ...zz(-2n),
      // a double in Warp 10's decimal form (scale 2, unscaled 314), no location
      0x10,
      ...zz(1n),
      2,
      ...zz(314n),
      // the same double again (identical flag)
      0x11,
      ...zz(1n),
      // an IEEE 754 double: NaN
      0x14,
      ...zz(1n),
      ...[0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
      // a UTF-8 string
      0x18,
      ...zz(1n),
      3,
      0xc3,
      0xa9,
      0x21,
      // true, a delete marker (not a point), false
      0x04,
      ...zz(1n),
      0x07,
      ...zz(1n),
      0x02,
      ...zz(1n),
      // binary bytes
      0x1a,
      ...zz(1n),
      2,
      0xff,
      0x00,
      // the tick equal to the base, a zigzag long: Long.MIN_VALUE
      0x2c,
      ...zz(-9_223_372_036_854_775_808n),
      // tick as a delta from the base, long raw absolute Long.MAX_VALUE
      0x48,
      ...zz(-3n),
      ...be64(9_223_372_036_854_775_807n),
    ];
    const got: [unknown, unknown, unknown, string, unknown][] = [];
    walkEncoded(Buffer.from(bytes), 500, (p: DecodedPoint) =>
      got.push([p.ts, p.geo, p.elev, p.type, Buffer.isBuffer(p.value) ? [...p.value] : p.value]),
    );
    assert.deepEqual(got, [
      [1_000_000, 0x4000000040000000n, -170, 'LONG', 2n ** 53n + 1n],
      [1_000_010, 0x4000000040000000n - 1n, -165, 'LONG', 2 ** 53 - 1],
      [1_000_011, null, null, 'DOUBLE', 3.14],
      [1_000_012, null, null, 'DOUBLE', 3.14],
      [1_000_013, null, null, 'DOUBLE', NaN],
      [1_000_014, null, null, 'STRING', [0xc3, 0xa9, 0x21]],
      [1_000_015, null, null, 'BOOLEAN', true],
      [1_000_017, null, null, 'BOOLEAN', false],
      [1_000_018, null, null, 'BINARY', [0xff, 0x00]],
      [500, null, null, 'LONG', -9_223_372_036_854_775_808n],
      [497, null, null, 'LONG', 9_223_372_036_854_775_807n],
    ]);
  });

  test('doubles: never read as longs, and parsed back to the same double', () => {
    const cases: [number, string][] = [
      [2, '2.0'],
      [-0.125, '-0.125'],
      [1e-300, '1e-300'],
      [1e21, '1e+21'],
      [0.1, '0.1'],
      [Number.MAX_VALUE, '1.7976931348623157e+308'],
      [Number.MIN_VALUE, '5e-324'],
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [-Infinity, '-Infinity'],
      [-0, '-0.0E0'],
    ];
    for (const [x, s] of cases) {
      assert.equal(formatDouble(x), s);
      assert.ok(Object.is(Number(s.replace(/\.0E0$/, '')), x), s);
    }
  });

  test('strings, classes and labels: percent-encoded from their UTF-8, values quoted', () => {
    const nasty = 'a b,c{d}=e\'f"g%h+i\nj\tk été ✓ 𝄞';
    const p = (type: DecodedPoint['type'], value: DecodedPoint['value']): DecodedPoint => ({
      ts: 0,
      geo: null,
      elev: null,
      type,
      value,
    });
    const s = formatValue(p('STRING', Buffer.from(nasty, 'utf8')));
    assert.match(s, /^'[A-Za-z0-9._~%-]*'$/);
    assert.equal(decodeURIComponent(s.slice(1, -1)), nasty);
    assert.equal(formatValue(p('STRING', Buffer.alloc(0))), "''");
    assert.equal(formatValue(p('BINARY', Buffer.from([0, 255, 16]))), 'b64:AP8Q');
    assert.equal(formatValue(p('BOOLEAN', true)), 'T');
    assert.equal(formatValue(p('BOOLEAN', false)), 'F');
    assert.equal(formatValue(p('LONG', -(2n ** 63n))), '-9223372036854775808');
    assert.equal(formatValue(p('LONG', -42)), '-42');
    assert.equal(percent(nasty).includes(' '), false);
    assert.equal(seriesName('os.cpu', { host: 'a,b', 'x=y': '{}' }), 'os.cpu{host=a%2Cb,x%3Dy=%7B%7D}');
  });

  test('exact: WRAPped by Warp 10, encoded, ingested again, read back the same, line for line', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const a = uniqueId('test.enc.a').replace(/-/g, '.');
    const b = uniqueId('test.enc.b').replace(/-/g, '.');
    const S = 1_772_323_200_000_000;
    const nasty = `host=${enc('b, c{d}=\'e"f été')},${enc('la bel/{x}')}=${enc('~not a regex')}`;
    const lines = [
      ...[
        '0',
        '-1',
        '9223372036854775807',
        '-9223372036854775808',
        '9007199254740993',
        '-9007199254740993',
        '42',
      ].map((v, i) => `${S + i}// ${a}{kind=long} ${v}`),
      ...[
        '2.0',
        '-0.125',
        '1.0E-300',
        'NaN',
        'Infinity',
        '-Infinity',
        '0.1',
        '1.7976931348623157E308',
        '4.9E-324',
        '123456.789',
        '3.141592653589793',
        '-0.0E0',
      ].map((v, i) => `${S + i}// ${a}{kind=double} ${v}`),
      `${S}// ${a}{kind=bool} T`,
      `${S + 1}// ${a}{kind=bool} F`,
      ...[
        'a string with spaces, quotes \' " and braces {}',
        'été ✓ 𝄞',
        'line\nbreak\ttab',
        '%25 + %',
        '',
      ].map((v, i) => `${S + i}// ${a}{${nasty}} '${enc(v)}'`),
      `${S}/48.85:2.35/35 ${a}{kind=geo} 10`,
      `${S + 1}/-90.0:-180.0/-170 ${a}{kind=geo} 11`,
      `${S + 2}/89.99999999:179.99999999/0 ${a}{kind=geo} 12`,
      `${S + 3}/0.000001:-0.000001/ ${a}{kind=geo} 13`,
      `${S + 4}//12 ${a}{kind=geo} 14`,
      `${S + 5}// ${a}{kind=geo} 15`,
      `4102444800000000// ${a}{kind=ticks} 2`,
      `9007199254740993// ${a}{kind=ticks} 3`,
      // Many points: delta and identical flags for ticks, values, locations and elevations.
      ...Array.from(
        { length: 500 },
        (_, i) =>
          `${S + i * 7_000_000}/${45 + (i % 4) / 1000}:${3 + (i % 5) / 1000}/${i % 3} ${a}{kind=many} ${i % 3}.5`,
      ),
    ];
    const c = new Warp10Client({ url: w.url });
    try {
      await c.update(w.writeToken, lines.join('\n'));
      const [rows] = await httpRunner(c).run<[[string, string, number][]]>(WRAP_ALL, {
        token: w.readToken,
        class: a,
      });
      assert.equal(rows.length, 7);
      const all = { startUs: -(2n ** 63n), lastUs: 2n ** 63n - 1n };
      const text = rows
        .map(([wrapped]) => wrappedToInput(wrapped, all, { text: true })?.text ?? '')
        .join('')
        .replaceAll(`${percent(a)}{`, `${percent(b)}{`);
      await c.update(w.writeToken, text);
      const fetchText = async (cls: string) => {
        const q = new URLSearchParams({
          selector: `${cls}{}`,
          now: '9223372036854775807',
          timespan: '-1000000000',
        });
        const res = await fetch(`${w.url}/api/v0/fetch?${q}`, { headers: { 'X-Warp10-Token': w.readToken } });
        assert.equal(res.status, 200);
        // One full line per point (continuation lines carry their series), without the class.
        let series = '';
        return (await res.text())
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => {
            const m = /^(-?\d+\/[^ ]*\/[^ ]*) (?:([^ ]*\{[^}]*\})(\{[^}]*\})? )?(.*)$/.exec(
              l.replace(/^=/, ''),
            );
            assert.ok(m, l);
            if (m[2] !== undefined) series = m[2].replace(/^[^{]*/, '');
            return `${m[1]} ${series} ${m[4]}`;
          })
          .sort();
      };
      const before = await fetchText(a);
      assert.equal(before.length, lines.length);
      assert.deepEqual(await fetchText(b), before);
    } finally {
      await c.close();
    }
  });
});
