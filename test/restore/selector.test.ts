// Series selectors on the client side: what --series selects among the archived series.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SelectorError, parseSeriesName } from '../../src/archive/series-name.ts';
import { matches, parseSelector } from '../../src/restore/selector.ts';

const series = (s: string) => parseSeriesName(s);

describe('series selectors', () => {
  test('exact and regex classes and labels; a missing label never matches', () => {
    const s = series('client.http.requests{.app=x,owner=acme,host=h1}');
    assert.ok(matches(parseSelector('client.http.requests{owner=acme}'), s));
    assert.ok(matches(parseSelector('=client.http.requests{}'), s));
    assert.ok(matches(parseSelector('~client\\..*{owner~ac.*,host=h1}'), s));
    assert.ok(!matches(parseSelector('client.http.requests{owner=acm}'), s));
    assert.ok(!matches(parseSelector('~client{}'), s), 'regexes match the whole class, as in Warp 10');
    assert.ok(!matches(parseSelector('client.http.requests{zone=par}'), s));
    assert.ok(!matches(parseSelector('client.http{}'), s));
    assert.ok(matches(parseSelector('client.http.requests{owner=ac%6De}'), s), 'values may be URL-encoded');
  });

  test('malformed selectors are SelectorErrors', () => {
    for (const bad of ['nobraces', 'c{a}', 'c{=x}', '{a=b}', 'c{a~[}', 'c{a=%zz}']) {
      assert.throws(() => parseSelector(bad), SelectorError, bad);
    }
  });
});
