// encodeSelectorPart: what the offloader writes into a selector decodes back exactly in Warp 10's parser,
// whatever a label value holds; and the MOCK Warp 10 refuses, as the real one does, a regex cut by a raw
// `~` (encodeURIComponent leaves it), so unit-mock tests see what breaks the real one. The real Warp 10
// runs these selectors in test/workflows/archive-labels.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WarpScriptError } from '../../src/warp10/client.ts';
import { encodeSelectorPart, escapeRegex } from '../../src/warp10/selector-text.ts';
import { groupSelectors } from '../../src/warp10/selectors.ts';
import { MockWarp10, toSelector } from '../support/mock-warp10.ts';

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const VALUES = [...PRINTABLE, PRINTABLE, 'PROGRA~1', '~user', 'a~b~c', "it's (x) a*b wow!", '😀', ' é '];

/** A label term as Warp 10 3.5.0 reads it (GTSHelper.parseLabelsSelectors), before URL-decoding. */
function warp10Term(term: string): [string, string] {
  const t = term.trim();
  const pieces = t.split(t.includes('=') ? '=' : '~');
  return [pieces[0]!, pieces[1] ?? ''];
}

test('encodeSelectorPart: only letters, digits, -._ and %XX; Warp 10 reads back exactly the value, exact or regex', () => {
  for (const v of VALUES) {
    const e = encodeSelectorPart(v);
    assert.match(e, /^(?:[A-Za-z0-9._-]|%[0-9A-F]{2})*$/, v);
    assert.equal(decodeURIComponent(e), v);
    assert.doesNotMatch(e, /[,{}=~!'()*+\s]/, v);
    for (const op of ['=', '~']) {
      const term = `${encodeSelectorPart('k~1')}${op}${e}`;
      assert.deepEqual(warp10Term(term).map(decodeURIComponent), ['k~1', v], term);
    }
  }
  // What encodeURIComponent gives is cut by Warp 10 at the first `~` of the value.
  assert.deepEqual(warp10Term(`k~${encodeURIComponent('^(?:~user)$')}`).map(decodeURIComponent), [
    'k',
    '^(?:',
  ]);
  assert.equal(escapeRegex('a.b(c)*'), 'a\\.b\\(c\\)\\*');
});

test('MOCK Warp 10: a regex cut by a raw ~ is refused as Warp 10 refuses it; the grouped selectors read every series', async () => {
  const tokens = { read: 'mock-read-token', write: 'mock-write-token' };
  const mock = new MockWarp10({ tokens });
  const cls = 'test.sel';
  for (const [i, v] of VALUES.entries())
    mock.add(toSelector(cls, { 'pa~th': v }), [{ ts: 10 + i, value: i }]);
  const sels = mock.selectors();
  const read = (fetch: string[]) =>
    mock.run<[[string, number][]]>('archive-read', {
      token: tokens.read,
      selectors: sels,
      fetch,
      start: 0,
      end: 1_000,
      wrap: false,
    });

  await assert.rejects(
    read([`${cls}{pa%7Eth~${encodeURIComponent('^(?:~user|PROGRA~1)$')}}`]),
    (err: unknown) => err instanceof WarpScriptError && /PatternSyntaxException/.test(err.warpMessage),
  );
  const groups = groupSelectors(sels);
  assert.ok(groups.length < sels.length, 'series grouped by regex');
  const [items] = await read(groups.map((g) => g.selector));
  assert.deepEqual(items.map((i) => i[0]).sort(), sels);
});
