// The flags of npm run restore: what is accepted, and the message for what is not.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from '../../src/cli/args.ts';
import { parseRestoreArgs } from '../../src/cli/restore-args.ts';
import { parseInstantUs, restoreWindow } from '../../src/restore/plan.ts';
import { testConfig } from '../support/config.ts';

const config = testConfig({
  groups: [
    { name: 'clients', datasets: [{ name: 'client-http', selector: { class: 'client.http.requests' } }] },
    { name: 'infra', datasets: [{ name: 'os-cpu', selector: { class: 'os.cpu' } }] },
    { name: 'other', datasets: [{ name: 'os-cpu', selector: { class: 'os.cpu.other' } }] },
  ],
});
const withTarget = {
  ...config,
  restoreTargets: [
    {
      name: 'cold',
      url: 'http://cold:8080',
      readToken: { env: 'COLD_R' },
      writeToken: { env: 'COLD_W' },
      connectTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
    },
  ],
};

const usage = (argv: string[], re: RegExp, cfg = config) =>
  assert.throws(
    () => parseRestoreArgs(argv, cfg),
    (e: unknown) => e instanceof UsageError && re.test(e.message),
  );

describe('restore flags', () => {
  test('a full command line', () => {
    const a = parseRestoreArgs(
      [
        '--month',
        '2026-03',
        '--dataset',
        'client-http',
        '--series',
        'client.http.requests{owner=acme}',
        '--from',
        '2026-03-10T00:00:00Z',
        '--to',
        '2026-03-11T00:00:00+01:00',
        '--target',
        'cold',
        '--merge',
        '--json',
      ],
      withTarget,
    );
    assert.deepEqual(a, {
      month: '2026-03',
      group: 'clients',
      dataset: 'client-http',
      target: 'cold',
      series: 'client.http.requests{owner=acme}',
      from: '2026-03-10T00:00:00Z',
      to: '2026-03-11T00:00:00+01:00',
      merge: true,
      dryRun: false,
      wait: false,
      json: true,
    });
    assert.equal(
      parseRestoreArgs(['--month', '2026-03', '--dataset', 'client-http', '--dry-run'], config).wait,
      true,
    );
  });

  test('bad input says what to fix', () => {
    usage(['--dataset', 'client-http'], /--month is required/);
    usage(['--month', '2026-3', '--dataset', 'client-http'], /2026-3/);
    usage(['--month', '2026-03'], /--dataset is required/);
    usage(['--month', '2026-03', '--dataset', 'nope'], /unknown dataset "nope"/);
    usage(['--month', '2026-03', '--dataset', 'os-cpu'], /exists in groups infra and other: add --group/);
    usage(['--month', '2026-03', '--dataset', 'x', '--group', 'nope'], /unknown group "nope"/);
    usage(['--month', '2026-03', '--dataset', 'client-http', '--target', 'cold'], /no restoreTargets/);
    usage(
      ['--month', '2026-03', '--dataset', 'client-http', '--target', 'hot'],
      /configured: cold/,
      withTarget,
    );
    usage(
      ['--month', '2026-03', '--dataset', 'client-http', '--from', '2026-03-10T00:00:00Z'],
      /go together/,
    );
    usage(
      ['--month', '2026-03', '--dataset', 'client-http', '--from', '2026-03-10', '--to', '2026-03-11'],
      /ISO-8601 instant with its zone/,
    );
    usage(
      ['--month', '2026-03', '--dataset', 'client-http', '--series', 'no-braces'],
      /invalid series selector/,
    );
    usage(
      ['--month', '2026-03', '--dataset', 'client-http', '--series', 'c{a~(}'],
      /invalid regular expression/,
    );
    usage(['--month', '2026-03', '--dataset', 'client-http', '--force'], /Unknown option '--force'/);
  });

  test('instants and windows: [from, to) inside the month, in µs', () => {
    assert.equal(parseInstantUs('1970-01-01T00:00:01.000002Z'), 1_000_002);
    assert.equal(parseInstantUs('1970-01-01T01:00:00+01:00'), 0);
    assert.throws(() => parseInstantUs('2026-02-30T00:00:00Z'), /no such date/);
    const month = { startUs: 1_000_000, endUs: 2_000_000 };
    assert.deepEqual(restoreWindow({ month: 'm' }, month), { startUs: 1_000_000, lastUs: 1_999_999 });
    assert.deepEqual(
      restoreWindow({ month: 'm', from: '1970-01-01T00:00:01.5Z', to: '1970-01-01T00:00:02Z' }, month),
      { startUs: 1_500_000, lastUs: 1_999_999 },
    );
    assert.throws(
      () => restoreWindow({ month: 'm', from: '1970-01-01T00:00:00Z', to: '1970-01-01T00:00:02Z' }, month),
      /not inside m/,
    );
    assert.throws(
      () =>
        restoreWindow({ month: 'm', from: '1970-01-01T00:00:01.9Z', to: '1970-01-01T00:00:01.5Z' }, month),
      /before --to/,
    );
  });
});
