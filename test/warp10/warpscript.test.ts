import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PROLOGUE_LINES, bind, literal, stringLiteral } from '../../src/warp10/warpscript.ts';

// WarpScript percent-decodes quoted strings; decodeURIComponent is the same decoding for our output.
const decode = (lit: string) => decodeURIComponent(lit.slice(1, -1));

describe('stringLiteral', () => {
  const hostile = [
    "it's",
    '"double"',
    "' DROP 'x' STORE '",
    "} { ] [ <% %> <' '>",
    'MACRO EVAL FAIL STOP',
    'new\nline\ttab',
    '100% done',
    'été 日本 🚀',
    'a=b,c=d',
    '',
  ];
  for (const input of hostile) {
    test(`keeps ${JSON.stringify(input)} inert and exact`, () => {
      const lit = stringLiteral(input);
      assert.match(lit, /^'[A-Za-z0-9%]*'$/, 'only alphanumerics and %XX between the quotes');
      assert.equal(decode(lit), input);
    });
  }
});

describe('literal', () => {
  test('numbers, booleans, null, bigints', () => {
    assert.equal(literal(42), '42');
    assert.equal(literal(-7), '-7');
    assert.equal(literal(1.5), '1.5');
    assert.equal(literal(true), 'true');
    assert.equal(literal(null), 'NULL');
    assert.equal(literal(1_798_761_600_000_000n), '1798761600000000');
  });

  test('refuses values it cannot bind exactly', () => {
    assert.throws(() => literal(Number.NaN), /non-finite/);
    assert.throws(() => literal(2 ** 60), /bigint/);
    assert.throws(() => literal(1e-9), /exactly/);
  });

  test('lists and maps nest, with map keys encoded too', () => {
    assert.equal(literal(['a b', 1]), "[ 'a%20b' 1 ]");
    assert.equal(literal({ "k'": { x: [true] } }), "{ 'k%27' { 'x' [ true ] } }");
    assert.equal(literal([]), '[ ]');
  });

  test('long lists and maps are built in APPENDed pieces, so the stack stays shallow', () => {
    const list = literal(Array.from({ length: 450 }, (_, i) => i));
    assert.equal(list.match(/\[/g)?.length, 3);
    assert.equal(list.match(/ APPEND/g)?.length, 2);
    assert.ok(list.startsWith('[ 0 1 '));
    assert.ok(
      list.endsWith(
        '] APPEND [ 400 401 ' + Array.from({ length: 48 }, (_, i) => 402 + i).join(' ') + ' ] APPEND',
      ),
    );
    const map = literal(Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${i}`, i])));
    assert.equal(map.match(/ APPEND/g)?.length, 1);
  });
});

describe('bind', () => {
  test('prepends one line of STOREs, one per parameter, before the body', () => {
    const script = bind('$sel $n', { sel: 'os.cpu{dc=par1}', n: 3 });
    const lines = script.split('\n');
    assert.equal(lines.length, 1 + PROLOGUE_LINES);
    assert.equal(lines[0], "'os%2Ecpu%7Bdc%3Dpar1%7D' 'sel' STORE 3 'n' STORE");
    assert.equal(lines[1], '$sel $n');
  });

  test('refuses parameter names that are not identifiers', () => {
    assert.throws(() => bind('', { "x' STORE": 1 }), /invalid WarpScript parameter name/);
    assert.throws(() => bind('', { '1abc': 1 }), /invalid WarpScript parameter name/);
  });
});
