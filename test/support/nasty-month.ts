// A month of series built to break an archive and its restore: nasty labels, the four value types
// (integral doubles too), locations and elevations, attributes, points on both month boundaries and
// just outside them, and one customer label to select by.
import assert from 'node:assert/strict';
import type { Runtime } from '../../src/worker/runtime.ts';

const H = 3_600_000_000;

export const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Lines in GTS input format and /api/v0/meta lines for class `cls` and the month [S, E). */
export function nastyMonth(cls: string, S: number, E: number): { lines: string[]; meta: string[] } {
  const c = enc(cls);
  const nasty = `host=${enc('b, c{d}=\'e"f été')},${enc('la bel/{x}')}=${enc('~not a regex')}`;
  const lines = [
    `${S - 1}// ${c}{host=a} 1`,
    `${S}// ${c}{host=a} 2`,
    `${S + H}// ${c}{host=a} -9007199254740991`,
    `${E - 1}// ${c}{host=a} 4`,
    `${E}// ${c}{host=a} 5`,
    `${S + 10}// ${c}{${nasty}} '${enc('a string with spaces, quotes \' " and braces {} ✓')}'`,
    `${S + 20}// ${c}{${nasty}} '${enc('')}'`,
    `${S + 20}// ${c}{host=bool} T`,
    `${S + 21}// ${c}{host=bool} F`,
    `${S + 30}// ${c}{host=dbl} 2.0`,
    `${S + 31}// ${c}{host=dbl} -0.125`,
    `${S + 32}// ${c}{host=dbl} 1.0E-300`,
    `${S + 100}/48.85:2.35/35 ${c}{host=geo} 10`,
    `${S + 200}/-45.76:-4.83/-170 ${c}{host=geo} 11`,
    `${S + 300}//12 ${c}{host=geo} 12`,
    `${S + 5}// ${c}{host=a,core=1} 7`,
    ...Array.from(
      { length: 6 },
      (_, i) => `${S + 1000 + i * H}// ${c}{owner=customer-${i % 3},host=h${i}} ${i}.5`,
    ),
  ];
  const meta = [`${c}{host=a}{team=${enc('ops, night')},tier=gold}`, `${c}{host=geo}{kind=probe}`];
  return { lines, meta };
}

/** Series and points of nastyMonth inside the month. */
export const NASTY_SERIES = 12;
export const NASTY_POINTS = 20;

export async function seedNasty(
  rt: Runtime,
  w: { url: string; writeToken: string },
  cls: string,
  S: number,
  E: number,
): Promise<void> {
  const data = nastyMonth(cls, S, E);
  await rt.client.update(rt.tokens.write, data.lines.join('\n'));
  for (const m of data.meta) {
    const res = await fetch(`${w.url}/api/v0/meta`, {
      method: 'POST',
      headers: { 'X-Warp10-Token': w.writeToken },
      body: m,
    });
    assert.equal(res.status, 200, await res.text());
  }
}
