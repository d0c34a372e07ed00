// npm run verify-archive as an operator runs it: a whole archive passes (exit 0); a damaged object, a
// missing one or a stray one is named with its problem (exit 1); bad input exits 2. The store alone is
// read: the CLI gets no Warp 10 URL or token.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { batchManifestKey, batchObjectKey } from '../../src/archive/layout.ts';
import type { BatchManifest } from '../../src/archive/manifest.ts';
import { monthRange } from '../../src/month.ts';
import type { LocalStore } from '../../src/store/local.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { writeConfigFile } from '../support/config.ts';
import { NASTY_POINTS, NASTY_SERIES, seedNasty } from '../support/nasty-month.ts';
import { temporalEnv, uniqueId, warp10OrSkip } from '../support/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MONTH = '2026-02';
const { startUs, endUs } = monthRange(MONTH, 'UTC');

function verify(configFile: string, args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, OFFLOAD_CONFIG: configFile };
  // The audit needs no Warp 10: without its URL or tokens it must still work.
  delete env.WARP10_URL;
  delete env.WARP10_READ_TOKEN;
  delete env.WARP10_WRITE_TOKEN;
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/verify-archive.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env,
  });
}

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

describe('npm run verify-archive', () => {
  // Bad input (exit 2): the rows of test/scripts/bad-input-store.test.ts.

  test('a whole archive: exit 0; corrupt, missing and stray objects: exit 1 naming each', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.verify').replace(/-/g, '.');
    const { file, config } = writeConfigFile({
      warp10Url: w.url,
      taskQueue: uniqueId('verify'),
      dataset: 'va',
      cls,
      seriesPerBatch: 5,
    });
    const rt = buildRuntime(config);
    try {
      await seedNasty(rt, w, cls, Number(startUs), Number(endUs));
      const ref = { group: 'infra', dataset: 'va', month: MONTH };
      const [archived] = await archiveRuns(env, rt, ref);
      assert.equal(archived?.points, NASTY_POINTS);

      const good = verify(file, ['--month', MONTH]);
      assert.equal(good.status, 0, good.stdout + good.stderr);
      assert.match(
        good.stdout,
        new RegExp(`OK +infra/va ${MONTH}: 3 batch\\(es\\), ${NASTY_SERIES} series, ${NASTY_POINTS} points`),
      );

      const root = (rt.store as LocalStore).root;
      const fileOf = (key: string) => path.join(root, ...key.split('/'));
      // Batch 2: a line dropped, still valid gzip. Batch 3: gone. And a stray object.
      const b2 = batchObjectKey(ref, 2);
      const lines = gunzipSync(readFileSync(fileOf(b2)))
        .toString()
        .split('\n')
        .filter(Boolean);
      writeFileSync(fileOf(b2), gzipSync(`${lines.slice(1).join('\n')}\n`));
      const b3 = batchObjectKey(ref, 3);
      rmSync(fileOf(b3));
      await rt.store.put('infra/va/2026-02/notes.txt', 'hello');
      // Batch 1: its object whole, but its manifest swaps the lines two series have in their member.
      const m1File = fileOf(batchManifestKey(ref, 1));
      const m1 = JSON.parse(gunzipSync(readFileSync(m1File)).toString()) as BatchManifest;
      const [x, y] = m1.series.filter((s) => s.points > 0 && s.member === 0);
      assert.ok(x && y && x.line !== undefined && y.line !== undefined, 'two series of member 0 with lines');
      [x.line, y.line] = [y.line, x.line];
      writeFileSync(m1File, gzipSync(JSON.stringify(m1)));

      const broken = verify(file, ['--month', MONTH, '--dataset', 'va', '--json']);
      assert.equal(broken.status, 1, broken.stderr);
      const report = JSON.parse(broken.stdout) as {
        ok: boolean;
        audits: { problems: { object: string; problem: string }[] }[];
      };
      assert.equal(report.ok, false);
      const problems = report.audits[0]?.problems ?? [];
      const about = (key: string) => problems.filter((p) => p.object === key).map((p) => p.problem);
      assert.ok(
        about(b2).some((p) => /SHA-256 is [0-9a-f]{64}, the manifest says/.test(p)),
        JSON.stringify(problems),
      );
      assert.ok(about(b2).some((p) => /1 series of the batch manifest have no line/.test(p)));
      // Its members (a seekable object) are checked one by one too.
      assert.ok(about(b2).some((p) => /member\(s\) differ from their SHA-256, first at byte 0/.test(p)));
      assert.deepEqual(about(b3), ['missing']);
      assert.deepEqual(about('infra/va/2026-02/notes.txt'), [
        'stray object: not part of the archive of this month',
      ]);
      const b1 = about(batchObjectKey(ref, 1));
      assert.equal(b1.length, 2, JSON.stringify(b1));
      for (const p of b1)
        assert.match(p, /series .*: line \d+ of member 0, the batch manifest says line \d+ of member 0/);

      const text = verify(file, ['--month', MONTH]);
      assert.equal(text.status, 1);
      assert.match(text.stdout, new RegExp(`BROKEN +infra/va ${MONTH}`));
      assert.ok(text.stdout.includes(`${b3}: missing`));
    } finally {
      await rt.close();
    }
  });
});
