// Label-prefix partitions of a large dataset: disjoint, covering every listed value, bounded in series,
// and the regex Warp 10 evaluates agrees with membership by prefix (inPartition).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import {
  buildPartitions,
  choosePartitionLabel,
  coveringRegex,
  inPartition,
  partitionRegex,
  partitionSelector,
  selectorLabels,
} from '../../src/warp10/partitions.ts';

// Java and JS agree on this subset; (?s) becomes the `s` flag.
const jsRegex = (r: string) => new RegExp(r.replace(/^\(\?s\)/, ''), 's');

test('partitions of UUID-like values: each value in exactly one, none over the bound, regex = membership', () => {
  const values = Array.from({ length: 20_000 }, (_, i) =>
    i % 3 === 0 ? randomUUID() : randomBytes(4).toString('hex'),
  );
  values.push('a', 'ab', 'ab', 'a.b', 'a|b', 'x\ny', 'é€😀', 'abc\\E');
  const specs = buildPartitions(values, 1_000);
  assert.ok(specs.length >= 20, `${specs.length} partitions`);
  let total = 0;
  for (const s of specs) {
    assert.ok(s.series <= 1_000, `${s.series} series`);
    assert.ok(s.prefixes.length + s.exact.length <= 32);
    total += s.series;
  }
  assert.equal(total, values.length);
  const regexes = specs.map((s) => jsRegex(partitionRegex(s)));
  for (const v of values) {
    const inSpecs = specs.filter((s) => inPartition(v, s)).length;
    const inRegex = regexes.filter((r) => r.test(v)).length;
    assert.equal(inSpecs, 1, `${JSON.stringify(v)} in ${inSpecs} partitions`);
    assert.equal(inRegex, 1, `${JSON.stringify(v)} matched by ${inRegex} regexes`);
  }
});

test('the covering regex of some partitions matches exactly the values one of them holds', () => {
  const values = Array.from({ length: 5_000 }, () => randomUUID());
  const specs = buildPartitions(values, 400);
  assert.ok(specs.length > 4, `${specs.length} partitions`);
  const some = specs.slice(0, 3);
  const re = jsRegex(coveringRegex(some));
  for (const v of [...values, 'zz', '', 'a\nb']) {
    assert.equal(
      re.test(v),
      some.some((p) => inPartition(v, p)),
      v,
    );
  }
});

test('a value held by more series than the bound stays one exact partition; one small set is one partition', () => {
  const many = Array.from({ length: 50 }, () => 'same');
  const specs = buildPartitions([...many, 'samf', 'x'], 10);
  assert.ok(specs.some((s) => s.exact.includes('same') && s.series >= 50));
  assert.deepEqual(buildPartitions(['b', 'a', 'c'], 10), [{ prefixes: [''], exact: [], series: 3 }]);
});

test('the partition label: in every series, not in the dataset selector, most distinct values', () => {
  const series = [
    new Map([
      ['app', 'a1'],
      ['inst', 'i1'],
      ['dc', 'par'],
    ]),
    new Map([
      ['app', 'a1'],
      ['inst', 'i2'],
      ['dc', 'par'],
    ]),
    new Map([
      ['app', 'a2'],
      ['inst', 'i3'],
    ]),
  ];
  assert.equal(choosePartitionLabel(series, { class: 'c', labels: {} }), 'inst');
  assert.equal(choosePartitionLabel(series, { class: 'c', labels: { inst: '~i.*' } }), 'app');
  assert.equal(choosePartitionLabel(series.slice(0, 1), { class: 'c', labels: {} }), undefined);
});

test('selectors: labels of a TOSELECTOR string, and a partition selector Warp 10 parses', () => {
  assert.deepEqual(
    [...selectorLabels('os.cpu{app=a%2Cb,inst=1}')!],
    [
      ['app', 'a,b'],
      ['inst', '1'],
    ],
  );
  const sel = partitionSelector({ class: '~^os\\..*$', labels: { dc: 'par 1' } }, 'inst', {
    prefixes: ['a.'],
    exact: ['b'],
    series: 2,
  });
  assert.equal(sel, '~%5Eos%5C..%2A%24{dc=par%201,inst~%28%3Fs%29%5E%28%3F%3Aa%5C..%2A%7Cb%29%24}');
});
