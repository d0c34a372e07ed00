import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from '../../src/cli/args.ts';
import { parseStartArchiveArgs } from '../../src/cli/start-archive-args.ts';
import { testConfig } from '../support/config.ts';

const base = testConfig({
  groups: [
    {
      name: 'infra',
      datasets: [
        { name: 'os-cpu', selector: { class: 'os.cpu' } },
        { name: 'dup', selector: { class: 'a' } },
      ],
    },
    { name: 'clients', datasets: [{ name: 'dup', selector: { class: 'b' } }] },
  ],
});
const config = base;
const NOW = new Date('2026-11-26T12:00:00Z');
const parse = (args: string[]) => parseStartArchiveArgs(args, config, NOW);
const fails = (args: string[], re: RegExp) =>
  assert.throws(
    () => parse(args),
    (e: unknown) => e instanceof UsageError && re.test(e.message),
  );

describe('start-archive flags', () => {
  test('a valid dataset-month finds its group', () => {
    assert.deepEqual(parse(['--month', '2026-10', '--dataset', 'os-cpu']), {
      month: '2026-10',
      group: 'infra',
      dataset: 'os-cpu',
      dryRun: false,
      wait: false,
      json: false,
      ignoreLateness: false,
    });
  });
  test('bad input: a month inside lateData.lateness — exit 2, the instant it may run and --ignore-lateness', () => {
    // 2026-10 ended on 2026-11-01T00:00Z; with the default lateness of 6 hours it may run from 06:00.
    const early = new Date('2026-11-01T03:00:00Z');
    const config = { ...base, lateData: { lateness: '6 hours', recheckMonths: 2 } };
    assert.throws(
      () => parseStartArchiveArgs(['--month', '2026-10', '--dataset', 'os-cpu'], config, early),
      (e: unknown) =>
        e instanceof UsageError &&
        /lateData\.lateness \(6 hours\)/.test(e.message) &&
        /until 2026-11-01T06:00:00\.000Z/.test(e.message) &&
        /--ignore-lateness/.test(e.message),
    );
    const a = parseStartArchiveArgs(
      ['--month', '2026-10', '--dataset', 'os-cpu', '--ignore-lateness'],
      config,
      early,
    );
    assert.equal(a.ignoreLateness, true);
    // A dry run changes nothing: allowed at any time.
    assert.equal(parseStartArchiveArgs(['--month', '2026-10', '--dry-run'], config, early).dryRun, true);
  });
  test('--dry-run implies --wait', () => {
    const a = parse(['--month', '2026-10', '--dataset', 'os-cpu', '--dry-run']);
    assert.equal(a.dryRun, true);
    assert.equal(a.wait, true);
  });
  test('no dataset means the whole monthly run', () => {
    assert.equal(parse(['--month', '2026-10']).dataset, undefined);
  });
  test('month missing, malformed, current or future', () => {
    fails(['--dataset', 'os-cpu'], /--month is required/);
    fails(['--month', '2026-13', '--dataset', 'os-cpu'], /2026-13/);
    fails(['--month', '26-10', '--dataset', 'os-cpu'], /26-10/);
    fails(['--month', '2026-11', '--dataset', 'os-cpu'], /current month.*latest is 2026-10/);
    fails(['--month', '2027-01', '--dataset', 'os-cpu'], /future/);
  });
  test('unknown group or dataset lists what exists', () => {
    fails(
      ['--month', '2026-10', '--group', 'nope'],
      /unknown group "nope"; configured groups: infra, clients/,
    );
    fails(['--month', '2026-10', '--dataset', 'nope'], /unknown dataset "nope".*infra\/os-cpu/);
    fails(
      ['--month', '2026-10', '--group', 'clients', '--dataset', 'os-cpu'],
      /unknown dataset "os-cpu" in group "clients"/,
    );
  });
  test('a dataset name in two groups needs --group', () => {
    fails(['--month', '2026-10', '--dataset', 'dup'], /exists in groups infra and clients: add --group/);
    assert.equal(parse(['--month', '2026-10', '--dataset', 'dup', '--group', 'clients']).group, 'clients');
  });
  test('unknown flags and positionals are refused with the usage', () => {
    fails(['--month', '2026-10', '--datset', 'x'], /Unknown option '--datset'[\s\S]*usage:/);
    fails(['2026-10'], /positional[\s\S]*usage:/i);
  });
});
