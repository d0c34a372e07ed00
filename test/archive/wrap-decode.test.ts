// The client-side WRAP reader that verify-archive uses: order-preserving base64 vectors from Warp 10's own
// tests, and series WRAPped by the real Warp 10 (every value type, locations, elevations, big ticks)
// decoded to the same counts and first/last ticks as Warp 10 computes.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { WrapDecodeError, decodeWrapped, opb64Decode } from '../../src/archive/wrap-decode.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { httpRunner } from '../../src/warp10/runner.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { testConfig } from '../support/config.ts';
import { seedNasty } from '../support/nasty-month.ts';
import { uniqueId, warp10OrSkip } from '../support/stack.ts';

const WRAP_ALL = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'wrap-all.mc2');

describe('WRAP decoding without Warp 10', () => {
  test('order-preserving base64', () => {
    assert.deepEqual([...opb64Decode('zk')], [255]);
    assert.deepEqual([...opb64Decode('zzw')], [255, 255]);
    assert.deepEqual([...opb64Decode('zzzz')], [255, 255, 255]);
    assert.deepEqual([...opb64Decode('zzzzzk')], [255, 255, 255, 255]);
    assert.deepEqual([...opb64Decode('....')], [0, 0, 0]);
    assert.throws(() => opb64Decode('ab+d'), WrapDecodeError);
  });

  test('garbage is a WrapDecodeError, never a crash or a silent zero', () => {
    for (const bad of ['', 'zzzz', 'not a wrapped series', '0'.repeat(40)]) {
      assert.throws(() => decodeWrapped(bad), WrapDecodeError, bad);
    }
  });

  test('series WRAPped by Warp 10 decode to its counts, first and last ticks, class and labels', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.wrap').replace(/-/g, '.');
    const rt = buildRuntime(
      testConfig({ groups: [{ name: 'g', datasets: [{ name: 'd', selector: { class: cls } }] }] }),
    );
    const S = 1_772_323_200_000_000;
    try {
      await seedNasty(rt, w, cls, S, S + 31 * 86_400_000_000);
      // Far ticks (raw absolute timestamps) and many repeated values (delta and identical flags).
      const many = Array.from({ length: 500 }, (_, i) => `${S + i * 7_000_000}// ${cls}{host=many} ${i % 3}`);
      await rt.client.update(
        rt.tokens.write,
        [...many, `-5// ${cls}{host=far} 1`, `4102444800000000// ${cls}{host=far} 2`].join('\n'),
      );
      const c = new Warp10Client({ url: w.url });
      const [rows] = await httpRunner(c).run<[[string, string, number, number | null, number | null][]]>(
        WRAP_ALL,
        {
          token: w.readToken,
          class: cls,
        },
      );
      await c.close();
      assert.equal(rows.length, 14);
      for (const [wrapped, sel, points, first, last] of rows) {
        const d = decodeWrapped(wrapped);
        assert.deepEqual([d.points, d.first, d.last], [points, first, last], sel);
        assert.equal(d.cls, cls);
      }
      const geo = rows.find(([, sel]) => sel.includes('host=geo'));
      assert.deepEqual(decodeWrapped(geo?.[0] ?? '').attributes, { kind: 'probe' });
    } finally {
      await rt.close();
    }
  });
});
