// groupSelectors: few selectors covering a batch exactly (pure logic; the real Warp 10 runs them in the
// archive tests, nasty labels included).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { groupSelectors } from '../../src/warp10/selectors.ts';

const members = (groups: ReturnType<typeof groupSelectors>) => groups.flatMap((g) => g.members).sort();

describe('groupSelectors', () => {
  test('hosts x cpus: one selector per cpu, the hosts in a regex', () => {
    const sels: string[] = [];
    for (const h of ['a', 'b', 'c']) for (const c of ['0', '1']) sels.push(`os.cpu{cpu=${c},host=${h}}`);
    const groups = groupSelectors(sels);
    assert.equal(groups.length, 2);
    assert.deepEqual(members(groups), [...sels].sort());
    const g0 = groups.find((g) => g.selector.includes('cpu=0'));
    // Every character but letters, digits, `-._` encoded: `(` `)` too (encodeURIComponent leaves them).
    assert.equal(g0?.selector, 'os.cpu{cpu=0,host~%5E%28%3F%3Aa%7Cb%7Cc%29%24}');
  });

  test('every selector lands in exactly one group, whatever the mix of shapes', () => {
    const sels = ['x{}', 'x{a=1}', 'x{a=2}', 'x{a=1,b=1}', 'y{a=1}', 'x{a~re}', 'broken'];
    const groups = groupSelectors(sels);
    assert.deepEqual(members(groups), [...sels].sort());
    // A selector without labels, with a regex, or unparsable keeps its own selector.
    for (const s of ['x{}', 'x{a~re}', 'broken', 'y{a=1}', 'x{a=1,b=1}']) {
      assert.ok(
        groups.some((g) => g.selector === s && g.members.length === 1),
        s,
      );
    }
  });

  test('label values are decoded, regex-escaped and encoded again', () => {
    const groups = groupSelectors(['c{k=a%2Cb}', 'c{k=x.y%7B%7D}', 'c{k=%5C%45(%2B)%24}']);
    assert.equal(groups.length, 1);
    const regex = decodeURIComponent(groups[0]!.selector.slice('c{k~'.length, -1));
    assert.equal(regex, '^(?:a,b|x\\.y\\{\\}|\\\\E\\(\\+\\)\\$)$');
    for (const v of ['a,b', 'x.y{}', '\\E(+)$']) assert.match(v, new RegExp(regex));
    assert.doesNotMatch('xzy{}', new RegExp(regex));
  });

  test('a value that is not valid percent-encoding keeps its own selector', () => {
    const groups = groupSelectors(['c{k=%E0%A4}', 'c{k=b}']);
    assert.deepEqual(members(groups), ['c{k=%E0%A4}', 'c{k=b}']);
    assert.ok(groups.some((g) => g.selector === 'c{k=%E0%A4}'));
  });

  test('selectors stay under the length bound: a long batch is split', () => {
    const sels = Array.from({ length: 300 }, (_, i) => `m{app=app-${String(i).padStart(6, '0')}-xxxxxxxxxx}`);
    const groups = groupSelectors(sels, 1500);
    assert.ok(groups.length > 1);
    for (const g of groups) assert.ok(g.selector.length <= 1500, `${g.selector.length} chars`);
    assert.deepEqual(members(groups), [...sels].sort());
  });
});
