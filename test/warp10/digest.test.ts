// The partition guard's summary digest: computed in TypeScript from the archive's summaries and in
// WarpScript from the live series (archive-delete-partition.mc2), against the REAL Warp 10.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { summaryDigest, type SeriesSummary } from '../../src/warp10/digest.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { httpRunner, type Params } from '../../src/warp10/runner.ts';
import { uniqueId, warp10OrSkip } from '../support/stack.ts';

// Label values a selector must carry through TOSELECTOR unchanged: spaces, separators, percent signs,
// braces, accents, a character outside the BMP.
const NASTY = ['plain', 'with space', 'a,b=c', '100%', '{x}', 'été', 'emoji-\u{1F600}', 'tab\tx'];

type Outcome = { deleted: number; alreadyGone: number; checked: number; changed: unknown[]; digest: boolean };

type ReadRow = [string, number, number, number, null, string];

/** What Warp 10 holds of a class over [0, 10,000]: one archive-read row a series with data. */
async function readClass(runner: ReturnType<typeof httpRunner>, token: string, cls: string) {
  const [items] = await runner.run<[ReadRow[]]>('archive-read', {
    token,
    selectors: [],
    fetch: [`${cls}{}`],
    start: 0,
    end: 10_000,
    wrap: false,
    all: true,
  });
  return items;
}

async function setup(w: NonNullable<ReturnType<typeof warp10OrSkip>>) {
  const client = new Warp10Client({ url: w.url });
  const runner = httpRunner(client);
  const cls = uniqueId('digest');
  const lines = NASTY.flatMap((v, i) =>
    [1, 2, 3].map((p) => `${p * 1000 + i}// ${cls}{k=${encodeURIComponent(v)},n=${i}} ${p}`),
  );
  await client.update(w.writeToken, lines.join('\n'));
  // What Warp 10 holds of the class: one summary a series with data.
  const read = async (): Promise<SeriesSummary[]> =>
    (await readClass(runner, w.readToken, cls)).map(([selector, points, first, last]) => ({
      selector,
      points,
      first,
      last,
    }));
  const summaries = await read();
  const guard = (params: Params) =>
    runner.run<[Outcome]>('archive-delete-partition', {
      readToken: w.readToken,
      writeToken: w.writeToken,
      selector: `${cls}{}`,
      start: 0,
      end: 10_000,
      ...params,
    });
  const live = async () => (await read()).reduce((n, s) => n + s.points, 0);
  return { client, cls, summaries, guard, live };
}

describe('summary digest (real Warp 10)', () => {
  test('the digest WarpScript computes of the live series equals the one computed from their summaries, odd label values included: the guard deletes on it', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const { client, summaries, guard, live } = await setup(w);
    assert.equal(summaries.length, NASTY.length);
    const [out] = await guard({ digest: summaryDigest(summaries), live: summaries.length });
    assert.deepEqual(out, {
      deleted: NASTY.length,
      alreadyGone: 0,
      checked: NASTY.length,
      changed: [],
      digest: true,
    });
    assert.equal(await live(), 0);
    await client.close();
  });

  test('a digest that differs deletes nothing and says so; with the expected list the full comparison names the changed series', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const { client, cls, summaries, guard, live } = await setup(w);
    const digest = summaryDigest(summaries);
    // A late point in one series after the summaries were taken.
    await client.update(w.writeToken, `5000// ${cls}{k=plain,n=0} 9`);
    const [fast] = await guard({ digest, live: summaries.length });
    assert.equal(fast.digest, false);
    assert.equal(fast.deleted, 0);
    assert.equal(await live(), NASTY.length * 3 + 1);
    const expected = summaries.map((s) => [s.selector, s.points, s.first, s.last]);
    const [full] = await guard({ digest, live: summaries.length, expected });
    assert.equal(full.deleted, 0);
    assert.deepEqual(
      full.changed.map((c) => (c as unknown[])[1]),
      [4],
    );
    assert.equal(await live(), NASTY.length * 3 + 1);
    await client.close();
  });

  test("content hashes: a value rewritten at an archived tick changes its series' hash (each value type, a location, an elevation); the same value rewritten does not; the guard deletes on the digest with hashes and refuses a rewrite", async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const client = new Warp10Client({ url: w.url });
    const runner = httpRunner(client);
    const cls = uniqueId('content');
    // One series a value type, and one with locations and elevations; tick 2000 is rewritten.
    const first: Record<string, string> = {
      long: '42',
      double: '2.5',
      bool: 'T',
      string: `'a%20b'`,
      geo: '42',
    };
    const loc = (k: string) => (k === 'geo' ? '48.5:2.25/100' : '/');
    const text = (values: Record<string, string>, locs: (k: string) => string) =>
      Object.entries(values)
        .flatMap(([k, v]) => [1000, 2000, 3000].map((ts) => `${ts}/${locs(k)} ${cls}{t=${k}} ${v}`))
        .join('\n');
    await client.update(w.writeToken, text(first, loc));
    const hashes = async () =>
      new Map((await readClass(runner, w.readToken, cls)).map((i) => [/t=(\w+)/.exec(i[0])![1]!, i]));
    const before = await hashes();
    assert.equal(before.size, 5);
    for (const [, i] of before) assert.match(i[5], /^[0-9a-f]{16}$/);
    const rewrite = async (k: string, value: string, where = loc(k)) => {
      await client.update(w.writeToken, `2000/${where} ${cls}{t=${k}} ${value}`);
      return (await hashes()).get(k)![5];
    };
    // The same value again: nothing changes.
    for (const [k, v] of Object.entries(first))
      assert.equal(await rewrite(k, v), before.get(k)![5], `${k}, same value`);
    const changed = {
      long: await rewrite('long', '43'),
      double: await rewrite('double', '2.75'),
      bool: await rewrite('bool', 'F'),
      string: await rewrite('string', `'a%20c'`),
      geo: await rewrite('geo', '42', '48.5:2.5/100'),
    };
    for (const [k, h] of Object.entries(changed)) assert.notEqual(h, before.get(k)![5], `${k}: rewritten`);
    assert.notEqual(await rewrite('geo', '42', '48.5:2.5/101'), changed.geo, 'an elevation rewritten');
    const after = await hashes();
    const summaries = [...after.values()].map(([selector, points, f, l, , hash]) => ({
      selector,
      points,
      first: f,
      last: l,
      hash,
    }));
    const guard = (digest: string) =>
      runner.run<[Outcome]>('archive-delete-partition', {
        readToken: w.readToken,
        writeToken: w.writeToken,
        selector: `${cls}{}`,
        start: 0,
        end: 10_000,
        digest,
        live: summaries.length,
        content: true,
      });
    // The archive's digest, from before a rewrite: the guard refuses and deletes nothing.
    const stale = summaryDigest(
      [...before.values()].map(([selector, points, f, l, , hash]) => ({
        selector,
        points,
        first: f,
        last: l,
        hash,
      })),
    );
    const [refused] = await guard(stale);
    assert.equal(refused.digest, false);
    assert.equal((await hashes()).size, 5, 'nothing deleted');
    const [out] = await guard(summaryDigest(summaries));
    assert.deepEqual(out, { deleted: 5, alreadyGone: 0, checked: 5, changed: [], digest: true });
    assert.equal((await hashes()).size, 0);
    await client.close();
  });

  test('one field off in one summary (a first tick) changes the digest', () => {
    const base: SeriesSummary[] = [
      { selector: 'c{a=1}', points: 3, first: 1, last: 9 },
      { selector: 'c{a=2}', points: 3, first: 1, last: 9 },
    ];
    const d = summaryDigest(base);
    assert.equal(summaryDigest([...base].reverse()), d, 'order does not matter');
    assert.notEqual(summaryDigest([base[0]!, { ...base[1]!, first: 2 }]), d);
    assert.equal(summaryDigest([...base, { selector: 'c{a=3}', points: 0, first: null, last: null }]), d);
    assert.notEqual(
      summaryDigest(base.map((s) => ({ ...s, hash: '0123456789abcdef' }))),
      d,
      'a content hash',
    );
  });
});
