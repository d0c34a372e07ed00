// The one redaction the worker uses for logs, errors and Slack messages.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, redact } from '../../src/config/redact.ts';

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
});
