// The restore workflow end to end: real Temporal dev server, real Warp 10, real archive store. A month is
// archived (and so deleted from Warp 10), then restored; what Warp 10 holds afterwards is compared with
// what it held before the archive, point for point.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { batchManifestKey, batchObjectKey, type MonthRef } from '../../src/archive/layout.ts';
import { MAX_LINE_BYTES } from '../../src/archive/lines.ts';
import type { LocalStore } from '../../src/store/local.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { restoreCommand, type RestoreResult } from '../../src/workflows/restore.ts';
import { startStandalone } from '../../scripts/stack/warp10.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import { tempDir, testConfig } from '../support/config.ts';
import { NASTY_POINTS, NASTY_SERIES, enc, seedNasty } from '../support/nasty-month.ts';
import { dumpFull, restoreRuns } from '../support/restore-run.ts';
import { temporalEnv, uniqueId, warp10OrSkip, type Warp10Stack } from '../support/stack.ts';
import { utcMonth } from '../support/month.ts';

const MONTH = '2026-03';
const SLACK_TOKEN = `xoxb-restore-${Date.now()}`;
process.env.RESTORE_SLACK_TOKEN = SLACK_TOKEN;
const { S, E } = utcMonth(MONTH);
const H = 3_600_000_000;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

/** A TCP port nobody listens on right now, chosen by the system. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Seeds `cls`, takes the month's dump, archives it (which deletes it from Warp 10). */
async function archivedMonth(
  t: { name: string },
  w: Warp10Stack,
  seriesPerBatch = 4,
  extra: { restoreTargets?: unknown[]; slack?: unknown } = {},
) {
  const cls = uniqueId('test.restore').replace(/-/g, '.');
  const config = testConfig({
    groups: [{ name: 'clients', datasets: [{ name: 'ds', selector: { class: cls }, seriesPerBatch }] }],
    ...extra,
  });
  const rt = buildRuntime(config);
  await seedNasty(rt, w, cls, S, E);
  const live = await dumpFull(w, cls, S, E - 1);
  const ref: MonthRef = { group: 'clients', dataset: 'ds', month: MONTH };
  const [archived] = await archiveRuns(env, rt, ref);
  assert.equal(archived?.status, 'archived', t.name);
  assert.deepEqual(await dumpFull(w, cls, S, E - 1), [], 'the archive emptied the month');
  return { cls, rt, live, ref };
}

function ok(r: PromiseSettledResult<RestoreResult> | undefined): RestoreResult {
  if (r?.status !== 'fulfilled')
    throw (r as PromiseRejectedResult | undefined)?.reason ?? new Error('no run');
  return r.value;
}

function failure(r: PromiseSettledResult<RestoreResult> | undefined): { type?: string; message: string } {
  assert.equal(r?.status, 'rejected', 'the restore should have failed');
  const err = (r as PromiseRejectedResult).reason as {
    cause?: { cause?: { type?: string; message: string } } & { type?: string; message: string };
  };
  const cause = err.cause?.cause ?? err.cause;
  return { type: cause?.type, message: cause?.message ?? String(err) };
}

describe('restore workflow (real Temporal, real Warp 10)', () => {
  test('round trip: the restored month equals what was live before the archive; twice gives the same', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const { cls, rt, live, ref } = await archivedMonth(t, w);
    try {
      assert.equal(live.length, NASTY_SERIES);
      // The index (batch manifests) keeps each series' attributes, for selectors that match on them.
      const root = (rt.store as LocalStore).root;
      const attributes: Record<string, Record<string, string>> = {};
      for (let b = 1; b <= 3; b++) {
        const m = JSON.parse(
          gunzipSync(readFileSync(path.join(root, ...batchManifestKey(ref, b).split('/')))).toString('utf8'),
        ) as { series: { selector: string; attributes?: Record<string, string> }[] };
        for (const s of m.series)
          if (s.attributes) attributes[s.selector.replace(/^.*\{/, '{')] = s.attributes;
      }
      assert.deepEqual(attributes, {
        '{.app=offloader,host=a}': { team: 'ops, night', tier: 'gold' },
        '{.app=offloader,host=geo}': { kind: 'probe' },
      });
      const outside = await dumpFull(w, cls, 0, Number.MAX_SAFE_INTEGER);
      const [first, second] = await restoreRuns(env, rt, [ref, ref]);
      const r1 = ok(first);
      assert.equal(r1.status, 'restored');
      assert.deepEqual([r1.series, r1.points, r1.alreadyThere], [NASTY_SERIES, NASTY_POINTS, 0]);
      assert.deepEqual(
        await dumpFull(w, cls, S, E - 1),
        live,
        'point for point, with types, locations, attributes',
      );
      // The points just outside the month were never archived: still there, once.
      const all = await dumpFull(w, cls, 0, Number.MAX_SAFE_INTEGER);
      const hostA = all.find(([sel]) => sel.endsWith('{host=a}'));
      assert.deepEqual(hostA?.[2], [S - 1, S, S + H, E - 1, E]);
      assert.ok(outside.length > 0);

      const r2 = ok(second);
      assert.equal(r2.alreadyThere, NASTY_SERIES, 'the second restore finds every series already whole');
      assert.deepEqual(await dumpFull(w, cls, S, E - 1), live, 'restoring twice changes nothing');
    } finally {
      await rt.close();
    }
  });

  test('--series restores only the matching series, --from/--to only the window: nothing else written', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const { cls, rt, live, ref } = await archivedMonth(t, w);
    try {
      const [one] = await restoreRuns(env, rt, [{ ...ref, series: `${cls}{owner=customer-1}` }]);
      assert.deepEqual([ok(one).series, ok(one).points], [2, 2]);
      const afterOne = await dumpFull(w, cls, S, E - 1);
      assert.deepEqual(
        afterOne,
        live.filter(([sel]) => sel.includes('owner=customer-1')),
      );

      // A window of the first hour and a half: [S, S + 1.5 h).
      const from = new Date(S / 1000).toISOString();
      const to = new Date((S + 1.5 * H) / 1000).toISOString();
      const [win] = await restoreRuns(env, rt, [
        { ...ref, series: `~${cls.replace(/\./g, '\\.')}{host~a|geo}`, from, to },
      ]);
      assert.equal(ok(win).status, 'restored');
      const rows = await dumpFull(w, cls, S, E - 1);
      const hostA = rows.find(([sel]) => sel.endsWith('{host=a}'));
      assert.deepEqual(hostA?.[2], [S, S + H], 'only the window: not E - 1');
      const geo = rows.find(([sel]) => sel.endsWith('{host=geo}'));
      assert.deepEqual(geo?.[2], [S + 100, S + 200, S + 300]);
      assert.equal(
        rows.find(([sel]) => sel.includes('host=bool')),
        undefined,
        'not selected: not written',
      );
      assert.deepEqual(
        rows.find(([sel]) => sel.includes('core=1'))?.[2],
        [S + 5],
        'core=1,host=a matches host~a|geo too',
      );
      assert.equal(
        rows.find(([sel]) => sel.includes('host=dbl')),
        undefined,
      );
    } finally {
      await rt.close();
    }
  });

  test('--series of a seekable batch reads only its member; a corrupt member refuses only its series', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.restore.seek').replace(/-/g, '.');
    const config = testConfig({
      groups: [
        { name: 'clients', datasets: [{ name: 'ds', selector: { class: cls }, seriesPerBatch: 100 }] },
      ],
    });
    const rt = buildRuntime(config);
    try {
      // 80 series of 400 random strings: ~18 KB a line, so one batch of several members.
      const lines: string[] = [];
      for (let n = 0; n < 80; n++) {
        for (let p = 0; p < 400; p++) {
          const v = `'${randomBytes(27).toString('base64url')}'`;
          lines.push(
            p === 0
              ? `${S + p * 1_000_000}// ${cls}{n=${String(n).padStart(2, '0')}} ${v}`
              : `=${S + p * 1_000_000}// ${v}`,
          );
        }
      }
      await rt.client.update(rt.tokens.write, lines.join('\n'));
      const live = await dumpFull(w, cls, S, E - 1);
      const ref: MonthRef = { group: 'clients', dataset: 'ds', month: MONTH };
      const [archived] = await archiveRuns(env, rt, ref);
      assert.equal(archived?.status, 'archived');
      const root = (rt.store as LocalStore).root;
      const m = JSON.parse(
        gunzipSync(readFileSync(path.join(root, ...batchManifestKey(ref, 1).split('/')))).toString('utf8'),
      ) as {
        object: { bytes: number; members: { offset: number; bytes: number }[] };
        series: { selector: string; member: number }[];
      };
      const members = m.object.members;
      assert.ok(members.length >= 3, `${members.length} members`);
      // A series of the first member and one of the last (lines are in Warp 10's order, not by name).
      const nameIn = (member: number) =>
        /,n=(\d\d)\}$/.exec(m.series.find((s) => s.member === member)?.selector ?? '')?.[1] ??
        assert.fail(`no series in member ${member}`);
      const [first, last] = [0, members.length - 1];
      const [a, z] = [nameIn(first), nameIn(last)];

      const [one] = await restoreRuns(env, rt, [{ ...ref, series: `${cls}{n=${a}}` }]);
      assert.deepEqual([ok(one).series, ok(one).points], [1, 400]);
      assert.equal(ok(one).bytes, members[first]!.bytes, 'bytes read: its member, not its batch');
      assert.ok(ok(one).bytes * 2 < m.object.bytes, `${ok(one).bytes} of ${m.object.bytes} bytes`);
      assert.deepEqual(
        await dumpFull(w, cls, S, E - 1),
        live.filter(([sel]) => sel.endsWith(`{n=${a}}`)),
      );

      // One byte flipped inside the last series' member: its restore is refused, the first's still reads.
      const file = path.join(root, ...batchObjectKey(ref, 1).split('/'));
      const bytes = readFileSync(file);
      bytes[members[last]!.offset + 30]! ^= 0xff;
      writeFileSync(file, bytes);
      const [bad, good] = await restoreRuns(env, rt, [
        { ...ref, series: `${cls}{n=${z}}` },
        { ...ref, series: `${cls}{n=${a}}` },
      ]);
      const f = failure(bad);
      assert.equal(f.type, 'ArchiveCorrupt');
      assert.match(f.message, new RegExp(`member at byte ${members[last]!.offset} has SHA-256`));
      assert.equal(ok(good).alreadyThere, 1, 'its own member still reads');
      assert.equal((await dumpFull(w, cls, S, E - 1)).length, 1, 'nothing of the corrupt member written');
    } finally {
      await rt.close();
    }
  });

  test('live points in the window: refused and nothing written; --merge writes and keeps them', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const { cls, rt, live, ref } = await archivedMonth(t, w);
    try {
      await rt.client.update(rt.tokens.write, `${S + 7}// ${enc(cls)}{host=bool} T`);
      const [refused] = await restoreRuns(env, rt, [ref]);
      const f = failure(refused);
      assert.equal(f.type, 'TargetHasData');
      assert.match(f.message, /host=bool/);
      assert.match(f.message, /--merge/);
      const rows = await dumpFull(w, cls, S, E - 1);
      assert.deepEqual(
        rows.map(([sel, , ticks]) => [sel.replace(/^.*\{/, '{'), ticks]),
        [['{host=bool}', [S + 7]]],
      );

      const [merged] = await restoreRuns(env, rt, [{ ...ref, merge: true }]);
      assert.equal(ok(merged).status, 'restored');
      const after = await dumpFull(w, cls, S, E - 1);
      const bool = after.find(([sel]) => sel.endsWith('{host=bool}'));
      assert.deepEqual(bool?.[2], [S + 7, S + 20, S + 21]);
      assert.deepEqual(
        after.filter(([sel]) => !sel.endsWith('{host=bool}')),
        live.filter(([sel]) => !sel.endsWith('{host=bool}')),
      );
    } finally {
      await rt.close();
    }
  });

  test('into a second Warp 10 (a cold instance on another port, other tokens): equal to what was live', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const port = await freePort();
    const cold = await startStandalone({
      name: `warp10-test-${port}`,
      dataDir: tempDir('cold-warp10'),
      port,
    });
    process.env.COLD_WARP10_READ = cold.readToken;
    process.env.COLD_WARP10_WRITE = cold.writeToken;
    const target = {
      name: 'cold',
      url: cold.url,
      readToken: { env: 'COLD_WARP10_READ' },
      writeToken: { env: 'COLD_WARP10_WRITE' },
    };
    const { cls, rt, live, ref } = await archivedMonth(t, w, 5, { restoreTargets: [target] });
    try {
      const [run] = await restoreRuns(env, rt, [{ ...ref, target: 'cold' }]);
      const r = ok(run);
      assert.deepEqual(
        [r.status, r.target, r.series, r.points],
        ['restored', 'cold', NASTY_SERIES, NASTY_POINTS],
      );
      assert.deepEqual(await dumpFull(cold, cls, S, E - 1), live, 'point for point, attributes included');
      assert.deepEqual(await dumpFull(w, cls, S, E - 1), [], 'the hot instance was not written');
    } finally {
      await rt.close();
      await cold.stop();
    }
  });

  test('a corrupt batch object: ArchiveCorrupt naming it, non-retryable, nothing written, Slack told', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const slack = await startFakeSlack({ token: SLACK_TOKEN, channels: ['#ops'] });
    t.after(() => slack.close());
    const { cls, rt, ref } = await archivedMonth(t, w, 4, {
      slack: { token: { env: 'RESTORE_SLACK_TOKEN' }, channel: '#ops', apiUrl: slack.apiUrl },
    });
    try {
      const key = batchObjectKey(ref, 2);
      const file = path.join((rt.store as LocalStore).root, ...key.split('/'));
      // Still valid gzip of the same size class: only the checksum tells.
      assert.ok(readFileSync(file).length > 0);
      writeFileSync(file, gzipSync('not a wrapped series\n'));
      const [run] = await restoreRuns(env, rt, [ref]);
      const f = failure(run);
      assert.equal(f.type, 'ArchiveCorrupt');
      assert.ok(f.message.includes(key), f.message);
      assert.deepEqual(await dumpFull(w, cls, S, E - 1), [], 'nothing written, from any batch');
      // One failure message, through the real Slack client: what failed, where, and how to run it again.
      const posted = slack.messages();
      assert.equal(posted.length, 1);
      assert.match(
        posted[0]!.text ?? '',
        /^🚨 Restore failed: 2026-03 clients\/ds, phase restore-check \(batch 2 of 3\)/,
      );
      assert.ok(posted[0]!.text?.includes(key), posted[0]!.text);
      assert.ok(
        posted[0]!.text?.includes(
          'Again: npm run restore -- --month 2026-03 --group clients --dataset ds --wait',
        ),
        posted[0]!.text,
      );
      assert.ok(
        !JSON.stringify(posted).includes(SLACK_TOKEN) && !JSON.stringify(posted).includes(w.readToken),
      );
    } finally {
      await rt.close();
    }
  });

  test('fault: a batch object matching its checksum but not decodable — ArchiveCorrupt before any write, nothing written', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const { cls, rt, ref } = await archivedMonth(t, w);
    try {
      // An object the manifest vouches for (its SHA-256 rewritten to match) that is not WRAPped series:
      // the worker decodes every batch in the check, before any batch is written.
      const root = (rt.store as LocalStore).root;
      const key = batchObjectKey(ref, 2);
      const file = path.join(root, ...key.split('/'));
      const mfile = path.join(root, ...batchManifestKey(ref, 2).split('/'));
      const m = JSON.parse(gunzipSync(readFileSync(mfile)).toString('utf8')) as {
        object: { sha256: string; bytes: number };
      };
      // The object replaced by `bytes`, and its manifest rewritten to vouch for them.
      const vouched = (bytes: Buffer) => {
        writeFileSync(file, bytes);
        m.object.sha256 = createHash('sha256').update(bytes).digest('hex');
        m.object.bytes = bytes.length;
        writeFileSync(mfile, JSON.stringify(m));
      };
      vouched(gzipSync('not a wrapped series\n'));
      const [run] = await restoreRuns(env, rt, [ref]);
      const f = failure(run);
      assert.equal(f.type, 'ArchiveCorrupt');
      assert.ok(f.message.includes(key) && f.message.includes('does not decode'), f.message);
      assert.deepEqual(await dumpFull(w, cls, S, E - 1), [], 'nothing written, from any batch');

      // A gzip bomb vouched for the same way: 257 MiB without a line end in ~260 KiB. Refused at the line
      // bound (MAX_LINE_BYTES), not held until the worker fails.
      vouched(gzipSync(Buffer.alloc(MAX_LINE_BYTES + 1024 * 1024, 0x41), { level: 9 }));
      const [bombed] = await restoreRuns(env, rt, [ref]);
      const fb = failure(bombed);
      assert.equal(fb.type, 'ArchiveCorrupt');
      assert.match(fb.message, /line 1 gunzips to more than 268435456 bytes before its end/);
      assert.ok(fb.message.includes(key), fb.message);
      assert.deepEqual(await dumpFull(w, cls, S, E - 1), [], 'nothing written, from any batch');
    } finally {
      await rt.close();
    }
  });
});

test('restoreCommand: the same restore again, every flag shell-quoted', () => {
  assert.equal(
    restoreCommand({
      group: 'clients',
      dataset: 'ds',
      month: '2026-03',
      series: "~cpu{host~a|b,team=o'k}",
      from: '2026-03-02T00:00:00Z',
      target: 'cold',
      merge: true,
    }),
    "npm run restore -- --month 2026-03 --group clients --dataset ds --series '~cpu{host~a|b,team=o'\\''k}' " +
      '--from 2026-03-02T00:00:00Z --target cold --merge --wait',
  );
});
