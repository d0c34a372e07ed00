// The one redaction the worker uses for logs, errors and Slack messages.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_ECHOED_PIECE, REDACTED, redact, redactEcho } from '../../src/config/redact.ts';
import { stringLiteral } from '../../src/warp10/warpscript.ts';

describe('redact', () => {
  test('replaces every occurrence of every secret', () => {
    assert.equal(
      redact('token=abc123 again abc123, key=xyz', ['abc123', 'xyz']),
      'token=[REDACTED] again [REDACTED], key=[REDACTED]',
    );
  });

  test('ignores empty secrets', () => {
    assert.equal(redact('nothing to hide', ['', '']), 'nothing to hide');
    assert.equal(redact('nothing to hide', []), 'nothing to hide');
  });

  test('a secret containing another is fully hidden', () => {
    assert.equal(redact('value: abcdef', ['abc', 'abcdef']), 'value: [REDACTED]');
  });

  test('overlapping secrets are hidden as one, neither left half visible', () => {
    assert.equal(redact('id xabcdef.', ['abcdef', 'xabc']), 'id [REDACTED].');
  });

  test('regex characters in secrets are literal', () => {
    assert.equal(redact('a.b a+b (x)', ['a+b', '(x)']), 'a.b [REDACTED] [REDACTED]');
  });

  test('a secret occurring in the marker does not mangle it', () => {
    assert.equal(redact('RED s3cr3t', ['s3cr3t', 'RED']), '[REDACTED] [REDACTED]');
  });

  test('redact walks nested values and leaves non-strings alone', () => {
    const out = redact({ a: ['k-SECRET-1', { b: 'x k-SECRET-1 y' }], n: 3 }, ['k-SECRET-1']);
    assert.deepEqual(out, { a: [REDACTED, { b: `x ${REDACTED} y` }], n: 3 });
  });

  test('a secret as a WarpScript literal holds it (%XX for every byte outside A-Za-z0-9) is hidden', () => {
    const secret = "t0k-en_1.2~!'()* é😀%";
    const lit = stringLiteral(secret).slice(1, -1);
    assert.match(lit, /^t0k%2Den%5F1%2E2%7E%21%27%28%29%2A%20%C3%A9%F0%9F%98%80%25$/);
    assert.equal(
      redact(`Exception at '${lit}' =>TOLONG<='`, [secret]),
      `Exception at '${REDACTED}' =>TOLONG<='`,
    );
  });

  test('redactEcho: a piece of a literal Warp 10 cut from a failing line is hidden, the rest of the text kept', () => {
    const secret = 'local-read-cde0fa672e0807abed5643e15837a79a';
    const echo =
      "Exception at '5643e15837a79a' 'token' STORE =>18446744073709551616<= 'big' STORE' in section [TOP]";
    assert.equal(
      redactEcho(echo, [secret]),
      `Exception at '${REDACTED}' 'token' STORE =>18446744073709551616<= 'big' STORE' in section [TOP]`,
    );
    // Pieces of the literal form (%2D) and of the raw form; whole forms as redact() does.
    assert.equal(redactEcho("at 'l%2Dread%2Dcde0' x", [secret]), `at '${REDACTED}' x`);
    assert.equal(
      redactEcho(`(For input string: "${secret}")`, [secret]),
      `(For input string: "${REDACTED}")`,
    );
    // Shorter than MIN_ECHOED_PIECE: kept (it would hide common words), as is text sharing no piece.
    assert.equal(redactEcho("at '7a79a' x", [secret]), "at '7a79a' x");
    assert.equal(MIN_ECHOED_PIECE, 6);
    assert.equal(redactEcho('nothing here', [secret, '']), 'nothing here');
  });
});
