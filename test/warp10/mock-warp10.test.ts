// Keeps the MOCK Warp 10 runner (test/support/mock-warp10.ts) honest: the same calls of the bundled
// scripts go to the real Warp 10 (through httpRunner) and to the mock, on the same data, and must give
// the same answers — plan pages, read items, the streamed JSON, guarded delete outcomes and refusals
// (type, line, message), and what is left afterwards. Needs the real Warp 10 (skips without it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Warp10Client, WarpScriptError } from '../../src/warp10/client.ts';
import { topListItems } from '../../src/warp10/json-stream.ts';
import { groupSelectors } from '../../src/warp10/selectors.ts';
import { httpRunner, type Params, type WarpScriptRunner } from '../../src/warp10/runner.ts';
import { MockWarp10 } from '../support/mock-warp10.ts';
import { toInputFormat, type SeedSeries } from '../support/seed.ts';
import { uniqueId, warp10OrSkip } from '../support/stack.ts';

const S = 1_000_000;
const E = 2_000_000;

type Item = [string, number, number | null, number | null, string | null];

/** What a runner answers, in a form that does not depend on Warp 10's listing order. */
async function answer(runner: WarpScriptRunner, script: string, params: Params): Promise<unknown> {
  try {
    if (script === 'archive-plan') {
      const [page] = await runner.run<[{ matched: number; selectors: string[] }]>(script, params);
      return { matched: page.matched, selectors: [...page.selectors].sort() };
    }
    if (script === 'archive-read') {
      const items: Item[] = [];
      for await (const item of topListItems(await runner.stream(script, params))) items.push(item as Item);
      const [viaRun] = await runner.run<[Item[]]>(script, params);
      assert.deepEqual(
        [...viaRun].sort().map((i) => i.slice(0, 4)),
        [...items].sort().map((i) => i.slice(0, 4)),
      );
      // WRAP differs (the mock's is not Warp 10's encoding): compare whether there is one.
      return items.map(([sel, n, first, last, wrapped]) => [sel, n, first, last, wrapped !== null]).sort();
    }
    return await runner.run(script, params);
  } catch (err) {
    if (!(err instanceof WarpScriptError)) throw err;
    const tail = /\((MSGFAIL [^()]*)\)+$/.exec(err.warpMessage)?.[1] ?? err.warpMessage;
    return { error: err.name, script: err.script, line: err.line, message: tail };
  }
}

test('the MOCK Warp 10 runner answers the bundled scripts as the real Warp 10 does', async (t) => {
  const w = warp10OrSkip(t);
  if (!w) return;
  const client = new Warp10Client({ url: w.url });
  const real = httpRunner(client);
  const mock = new MockWarp10({ tokens: { read: w.readToken, write: w.writeToken } });
  const cls = uniqueId('test.mockcheck').replace(/-/g, '.');
  const seed: SeedSeries[] = [
    {
      cls,
      labels: { host: 'a' },
      points: [
        { ts: S - 1, value: 1 },
        { ts: S, value: 2 },
        { ts: S + 10, value: 3 },
        { ts: E, value: 4 },
        { ts: E + 1, value: 5 },
      ],
    },
    { cls, labels: { host: 'a', core: '1' }, points: [{ ts: S + 5, value: 'x y' }] },
    { cls, labels: { host: 'b, c{d}=été' }, points: [{ ts: S + 7, value: true }] },
    { cls, labels: { host: 'old' }, points: [{ ts: S - 100, value: 2.5 }] },
    { cls: `${cls}.other`, labels: { host: 'a' }, points: [{ ts: S + 1, value: 1 }] },
  ];
  await client.update(w.writeToken, toInputFormat(seed));
  mock.update(toInputFormat(seed));
  try {
    const both = async (script: string, params: Params) => {
      const [r, m] = [await answer(real, script, params), await answer(mock, script, params)];
      assert.deepEqual(m, r, `${script} ${JSON.stringify(params).slice(0, 300)}`);
      return r;
    };
    const range = { start: S, end: E };
    const plan = (await both('archive-plan', {
      token: w.readToken,
      class: cls,
      labels: {},
      ...range,
      gskip: 0,
      gcount: 10,
    })) as { selectors: string[] };
    assert.equal(plan.selectors.length, 3, 'three series have data in [S, E]');
    const regex = { token: w.readToken, class: `~${cls}.*`, labels: { host: '~[ab].*' }, ...range };
    await both('archive-plan', { ...regex, gskip: 0, gcount: 10 });
    // Pages follow each one's own listing order (Warp 10's is hash-like): compare their sizes only.
    for (const [gskip, gcount] of [
      [1, 2],
      [3, 2],
    ] as const) {
      const page = (r: WarpScriptRunner) =>
        r.run<[{ matched: number }]>('archive-plan', { ...regex, gskip, gcount }).then(([p]) => p.matched);
      assert.equal(await page(mock), await page(real), `page ${gskip}+${gcount}`);
    }
    const sels = mock.selectors().filter((s) => s.startsWith(`${cls}{`));
    for (const wrap of [true, false])
      await both('archive-read', { token: w.readToken, selectors: sels, ...range, wrap });
    const hostA = `${cls}{.app=offloader,host=a}`;
    const core = sels.find((s) => s.includes('core=1')) as string;
    const other = sels.find((s) => s.includes('host=b')) as string;
    const del = (expected: unknown[]) =>
      both('archive-delete', {
        readToken: w.readToken,
        writeToken: w.writeToken,
        expected: expected as Params[string],
        groups: groupSelectors((expected as [string][]).map((e) => e[0])).map((g) => [g.selector, g.members]),
        ...range,
      });

    // Live data changed (late data): nothing deleted, the changed series handed back as Warp 10 holds it.
    assert.deepEqual(await del([[hostA, 3, S, E - 1]]), [
      { deleted: 0, alreadyGone: 0, checked: 1, changed: [[hostA, 3, S, E]] },
    ]);
    // {host=a} also matches {core=1,host=a}, which holds data and is not in this batch: refused.
    const ambiguous = (await del([[hostA, 3, S, E]])) as { message: string };
    assert.match(ambiguous.message, /AMBIGUOUS_SELECTOR/);
    // The batch holding both, plus a series already gone: deleted.
    assert.deepEqual(
      await del([
        [hostA, 3, S, E],
        [core, 1, S + 5, S + 5],
        [`${cls}{.app=offloader,host=zz}`, 1, S, S],
      ]),
      [{ deleted: 2, alreadyGone: 1, checked: 3, changed: [] }],
    );
    // Done again (a lost reply): everything already gone.
    assert.deepEqual(
      await del([
        [hostA, 3, S, E],
        [core, 1, S + 5, S + 5],
      ]),
      [{ deleted: 0, alreadyGone: 2, checked: 2, changed: [] }],
    );
    await both('archive-read', { token: w.readToken, selectors: sels, start: 0, end: 3 * E, wrap: false });
    await both('archive-delete', {
      readToken: w.readToken,
      writeToken: w.writeToken,
      expected: [[other, 1, S + 7, S + 7]],
      groups: [[other, [other]]],
      ...range,
    });
  } finally {
    await client.close();
  }
});
