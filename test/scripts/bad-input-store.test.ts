// The bad-input matrix (issue 11 §3), part 2: refused S3 credentials and missing buckets, restore and
// verify-archive, and bad input only a worker meets (a Warp 10 token refused, a selector matching nothing).
// Each row: the documented exit code, what is wrong and how to fix it, and nothing changed on the real stack.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  LONG,
  MONTH,
  arch,
  live,
  attempts,
  fx,
  matrix,
  mintExpiredReadToken,
  month,
  points,
  s3Env,
  s3Store,
  snapshotDir,
  startArchiveWithWorker,
  useFixture,
  withDataset,
  type Case,
} from '../support/bad-input.ts';
import { buildStore } from '../../src/worker/runtime.ts';
import { uniqueId, warp10OrSkip } from '../support/stack.ts';

useFixture();

const CASES: Case[] = [
  // ---- S3: credentials refused, no such bucket, credentials missing
  {
    name: 'start-archive with S3 credentials refused (403)',
    cli: 'start-archive',
    args: live,
    config: (raw, f) => void (raw.store = s3Store(f)),
    env: (f) => s3Env(f, 'AKIAUNKNOWNKEY000000'),
    exit: 2,
    says: 'InvalidAccessKeyId (HTTP 403)',
    fix: /check the secrets behind store\.accessKeyId and store\.secretAccessKey[\s\S]*Nothing was started/,
  },
  {
    name: 'start-archive into a bucket that does not exist',
    cli: 'start-archive',
    args: live,
    config: (raw, f) => void (raw.store = s3Store(f, { bucket: 'no-such-bucket' })),
    env: (f) => s3Env(f),
    exit: 2,
    says: 'NoSuchBucket (HTTP 404)',
    fix: /create it, or fix store\.bucket \(and store\.endpoint\)[\s\S]*Nothing was started/,
  },
  {
    name: 'restore with S3 credentials refused (403)',
    cli: 'restore',
    args: arch,
    config: (raw, f) => void (raw.store = s3Store(f)),
    env: (f) => s3Env(f, 'AKIAUNKNOWNKEY000000'),
    exit: 2,
    says: 'InvalidAccessKeyId (HTTP 403)',
    fix: /check the secrets behind store\.accessKeyId and store\.secretAccessKey/,
  },
  {
    name: 'restore from a bucket that does not exist',
    cli: 'restore',
    args: arch,
    config: (raw, f) => void (raw.store = s3Store(f, { bucket: 'no-such-bucket' })),
    env: (f) => s3Env(f),
    exit: 2,
    says: 'NoSuchBucket (HTTP 404)',
    fix: /create it, or fix store\.bucket/,
  },
  {
    name: 'restore with the S3 secret key variable not set',
    cli: 'restore',
    args: arch,
    config: (raw, f) => void (raw.store = s3Store(f)),
    env: (f) => ({ ...s3Env(f), BADINPUT_S3_SECRET: undefined }),
    exit: 2,
    says: 'environment variable BADINPUT_S3_SECRET is not set (needed for store.secretAccessKey)',
    fix: /export it, or change store\.secretAccessKey in the config/,
  },
  {
    name: 'verify-archive with S3 credentials refused (403)',
    cli: 'verify-archive',
    args: month,
    config: (raw, f) => void (raw.store = s3Store(f)),
    env: (f) => s3Env(f, 'AKIAUNKNOWNKEY000000'),
    exit: 2,
    says: 'InvalidAccessKeyId (HTTP 403)',
    fix: /check the secrets behind store\.accessKeyId/,
  },
  {
    name: 'verify-archive of a bucket that does not exist',
    cli: 'verify-archive',
    args: month,
    config: (raw, f) => void (raw.store = s3Store(f, { bucket: 'no-such-bucket' })),
    env: (f) => s3Env(f),
    exit: 2,
    says: 'NoSuchBucket (HTTP 404)',
    fix: /create it, or fix store\.bucket/,
  },
  // ---- restore
  {
    name: 'restore without --dataset',
    cli: 'restore',
    args: month,
    exit: 2,
    says: '--dataset is required',
    fix: /usage: npm run restore/,
  },
  {
    name: 'restore of a month with no archive',
    cli: 'restore',
    args: ['--month', '2025-11', '--dataset', 'arch'],
    exit: 2,
    says: 'NoSuchArchive: no archive of infra/arch 2025-11',
    fix: /check --month, --group and --dataset/,
  },
  {
    name: 'restore of a month not complete',
    cli: 'restore',
    args: ['--month', '2025-12', '--dataset', 'arch'],
    exit: 2,
    says: 'IncompleteMonth: the archive of infra/arch 2025-12 is not complete',
    fix: /finish it with npm run start-archive -- --month 2025-12 --group infra --dataset arch --wait/,
  },
  {
    name: 'restore of a selector matching nothing',
    cli: 'restore',
    args: [...arch, '--series', 'no.such.class{}'],
    exit: 2,
    says: 'InvalidInput: nothing to restore',
    fix: /check --series \(label=value is exact, label~regex must match the whole value\)/,
  },
  {
    name: 'restore of a selector with an invalid regex',
    cli: 'restore',
    args: [...arch, '--series', 'arch{host~web-(}'],
    exit: 2,
    says: 'invalid regular expression in label host "web-("',
    fix: /fix the regular expression after ~/,
  },
  {
    name: 'restore of a malformed selector',
    cli: 'restore',
    args: [...arch, '--series', 'oops'],
    exit: 2,
    says: 'invalid series selector "oops"',
    fix: /expected class\{label=value,\.\.\.\} such as/,
  },
  {
    name: 'restore of a label value of 10,000 characters',
    cli: 'restore',
    args: [...arch, '--series', `arch{host=${LONG}}`],
    exit: 2,
    says: '(10011 characters)',
    fix: /check --series/,
    maxOutput: 800,
  },
  {
    name: 'restore into an unknown target',
    cli: 'restore',
    args: [...arch, '--target', 'cold'],
    exit: 2,
    says: 'unknown restore target "cold"; the configuration lists no restoreTargets',
    fix: /add the target to restoreTargets in the config/,
  },
  {
    name: 'restore of a window outside the month',
    cli: 'restore',
    args: [...arch, '--from', '2026-08-31T00:00:00Z', '--to', '2026-09-02T00:00:00Z'],
    exit: 2,
    says: 'is not inside 2026-09',
    fix: /choose --from and --to inside the month/,
  },
  {
    name: 'restore --from without --to',
    cli: 'restore',
    args: [...arch, '--from', '2026-09-02T00:00:00Z'],
    exit: 2,
    says: '--from and --to go together',
    fix: /give both/,
  },
  {
    name: 'restore --from after --to',
    cli: 'restore',
    args: [...arch, '--from', '2026-09-03T00:00:00Z', '--to', '2026-09-02T00:00:00Z'],
    exit: 2,
    says: '--from must be before --to',
    fix: /swap them or widen the window/,
  },
  {
    name: 'restore --from without a zone',
    cli: 'restore',
    args: [...arch, '--from', '2026-09-02 00:00', '--to', '2026-09-03T00:00:00Z'],
    exit: 2,
    says: 'invalid --from "2026-09-02 00:00"',
    fix: /expected an ISO-8601 instant with its zone, such as 2026-03-10T00:00:00Z/,
  },
  {
    name: 'restore --concurrency 0',
    cli: 'restore',
    args: [...arch, '--concurrency', '0'],
    exit: 2,
    says: '--concurrency: expected an integer from 1 to 16, found "0"',
    fix: /from 1 to 16/,
  },
  {
    name: 'restore with an unknown flag',
    cli: 'restore',
    args: [...arch, '--overwrite'],
    exit: 2,
    says: "Unknown option '--overwrite'",
    fix: /usage: npm run restore/,
  },
  // ---- verify-archive
  {
    name: 'verify-archive without --month',
    cli: 'verify-archive',
    args: [],
    exit: 2,
    says: '--month is required',
    fix: /usage: npm run verify-archive -- --month YYYY-MM/,
  },
  {
    name: 'verify-archive --month 2026-9',
    cli: 'verify-archive',
    args: ['--month', '2026-9'],
    exit: 2,
    says: 'invalid month "2026-9"',
    fix: /expected YYYY-MM/,
  },
  {
    name: 'verify-archive of a month with no archive',
    cli: 'verify-archive',
    args: ['--month', '2024-01', '--dataset', 'arch'],
    exit: 2,
    says: 'no archive of dataset "arch" for 2024-01',
    fix: /check --month and --dataset/,
  },
  {
    name: 'verify-archive of an unknown group',
    cli: 'verify-archive',
    args: [...month, '--group', 'nope'],
    exit: 2,
    says: 'unknown group "nope"',
    fix: /configured groups: infra/,
  },
  {
    name: 'verify-archive with an unknown flag',
    cli: 'verify-archive',
    args: [...month, '--fix'],
    exit: 2,
    says: "Unknown option '--fix'",
    fix: /usage: npm run verify-archive/,
  },
];

matrix('bad-input matrix: store, restore, verify-archive', CASES);

describe('bad input that reaches the worker', () => {
  const rows = [
    { which: 'read', kind: 'invalid' },
    { which: 'write', kind: 'invalid' },
    { which: 'read', kind: 'expired' },
  ] as const;
  for (const { which, kind } of rows) {
    const type = which === 'read' ? 'Warp10TokenRefused' : 'Warp10DeleteRefused';
    test(`bad input: Warp 10 ${which} token ${kind} — exit 1, "${type}" naming warp10.${which}Token, not retried, no point deleted`, async (t) => {
      if (!warp10OrSkip(t)) return;
      const f = fx;
      assert.ok(f);
      const dataset = uniqueId('tok');
      const variable = `BADINPUT_${kind.toUpperCase()}_${which.toUpperCase()}_TOKEN`;
      const token = kind === 'expired' ? mintExpiredReadToken() : `not-a-warp10-${which}-token-7d1e`;
      if (!token) {
        t.skip("an expired token is minted with the local stack's Warp 10 keys; this Warp 10 is external");
        return;
      }
      process.env[variable] = token;
      const { taskQueue, file, config } = withDataset(
        f,
        dataset,
        f.liveCls,
        which === 'read' ? variable : undefined,
        which === 'write' ? variable : undefined,
      );
      const res = await startArchiveWithWorker(config, taskQueue, file, [
        ...month,
        '--dataset',
        dataset,
        '--wait',
        '--json',
      ]);
      assert.equal(res.status, 1, res.stdout + res.stderr);
      const summary = JSON.parse(res.stdout) as { status: string; error: { type: string; message: string } };
      assert.equal(summary.status, 'failed');
      assert.equal(summary.error.type, type, summary.error.message);
      if (which === 'read') {
        assert.match(
          summary.error.message,
          kind === 'expired'
            ? /FIND given an invalid token\. \(Token Expired\.\)/
            : /FIND given an invalid token/,
          'what is wrong',
        );
        assert.match(
          summary.error.message,
          new RegExp(
            `Warp 10 refused the read token \\(warp10\\.readToken\\): ${kind === 'expired' ? 'it has expired' : 'it is invalid or expired'}\\. Put a valid token in the secret`,
          ),
          'how to fix it',
        );
      } else {
        assert.match(
          summary.error.message,
          /Warp 10 refused the delete, and nothing was deleted/,
          'what is wrong',
        );
        assert.match(
          summary.error.message,
          /the write token \(warp10\.writeToken\) is invalid or expired, or the delete endpoint is off/,
          'how to fix it',
        );
      }
      assert.ok(!res.stdout.includes(process.env[variable] ?? '?'), 'the refused token is not echoed');
      assert.deepEqual(
        [...new Set(await attempts(`archive/infra/${dataset}/${MONTH}`))],
        [1],
        'every activity ran once',
      );
      assert.equal(await points(f.w, f.liveCls), 3, 'no point deleted');
      const keys = (await buildStore(config).list(`infra/${dataset}/`)).map((o) => o.key);
      assert.ok(!keys.some((k) => k.endsWith('/manifest.json')), 'the month is not committed');
      if (which === 'read')
        assert.deepEqual(keys, [`infra/${dataset}/${MONTH}/failure.json`], 'only the failure report');
    });
  }

  test('bad input: a selector matching nothing (--dry-run) — exit 0, "nothing to archive", nothing written', async (t) => {
    if (!warp10OrSkip(t)) return;
    const f = fx;
    assert.ok(f);
    const dataset = uniqueId('empty');
    const { taskQueue, file, config } = withDataset(
      f,
      dataset,
      `no.such.class.${dataset.replace(/-/g, '.')}`,
    );
    const storeBefore = snapshotDir(f.storeDir);
    const res = await startArchiveWithWorker(config, taskQueue, file, [
      ...month,
      '--dataset',
      dataset,
      '--dry-run',
    ]);
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.match(
      res.stdout,
      new RegExp(
        `nothing to archive: no series matching the selector of infra/${dataset} has data in ${MONTH}`,
      ),
    );
    assert.match(res.stdout, /check that dataset's selector \(class and labels\) in the config/);
    assert.deepEqual(snapshotDir(f.storeDir), storeBefore, 'nothing written');
    assert.equal(await points(f.w, f.liveCls), 3);
  });
});
