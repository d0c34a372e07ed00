// What the command-line scripts share: strict flags, and bad input answered by one message.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError, parseFlags, unlessBadInput } from '../../src/cli/args.ts';
import { ConfigError } from '../../src/config/load.ts';

const OPTIONS = { month: { type: 'string' }, json: { type: 'boolean', default: false } } as const;

describe('command-line flags', () => {
  test('values of known flags, defaults filled in', () => {
    assert.deepEqual(
      { ...parseFlags(['--month', '2026-03'], OPTIONS, 'usage: x') },
      { month: '2026-03', json: false },
    );
  });

  test('an unknown flag or a positional argument is a UsageError followed by the usage', () => {
    for (const argv of [['--nope'], ['2026-03']]) {
      assert.throws(
        () => parseFlags(argv, OPTIONS, 'usage: x'),
        (e: unknown) => e instanceof UsageError && /\n\nusage: x$/.test(e.message),
        argv.join(' '),
      );
    }
  });

  test('bad input is printed and answered by undefined; other errors are thrown on', (t) => {
    const printed: unknown[] = [];
    t.mock.method(console, 'error', (line: unknown) => printed.push(line));
    assert.equal(
      unlessBadInput(() => 7),
      7,
    );
    assert.equal(
      unlessBadInput(() => {
        throw new UsageError('fix --month');
      }),
      undefined,
    );
    assert.equal(
      unlessBadInput(() => {
        throw new ConfigError('config.yaml: bad', 'config');
      }),
      undefined,
    );
    assert.deepEqual(printed, ['fix --month', 'config.yaml: bad']);
    assert.throws(
      () =>
        unlessBadInput(() => {
          throw new TypeError('a bug');
        }),
      TypeError,
    );
  });
});
