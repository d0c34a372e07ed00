// The start-archive command as a user runs it: --dry-run changes nothing, --wait --json archives.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { monthRange } from '../../src/month.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { writeConfigFile } from '../support/config.ts';
import { toInputFormat } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle } from '../support/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

// Bad flags and config files: the rows of test/scripts/bad-input.test.ts.

describe('npm run start-archive against the real stack', () => {
  test('--dry-run changes nothing; --wait --json archives; a second run finds no late data and changes nothing', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.cli').replace(/-/g, '.');
    const taskQueue = uniqueId('cli');
    const { file: configFile, config } = writeConfigFile({
      warp10Url: w.url,
      taskQueue,
      dataset: 'cli-ds',
      cls,
      seriesPerBatch: 2,
    });
    const rt = buildRuntime(config);
    const { startUs } = monthRange('2026-09', 'UTC');
    const S = Number(startUs);
    await rt.client.update(
      rt.tokens.write,
      toInputFormat(
        [1, 2, 3].map((h) => ({ cls, labels: { host: `h${h}` }, points: [{ ts: S + h, value: h }] })),
      ),
    );
    const worker = await createOffloadWorker({
      connection: env.nativeConnection,
      runtime: rt,
      taskQueue,
      workflowBundle: await workflowBundle(),
    });
    const envs = {
      OFFLOAD_CONFIG: configFile,
      WARP10_READ_TOKEN: w.readToken,
      WARP10_WRITE_TOKEN: w.writeToken,
    };
    const runCli = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-archive.ts', ...args], {
          cwd: ROOT,
          env: { ...process.env, ...envs },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const base = ['--month', '2026-09', '--dataset', 'cli-ds'];
    await worker.runUntil(async () => {
      const dry = await runCli([...base, '--dry-run']);
      assert.equal(dry.status, 0, dry.stderr);
      assert.match(dry.stdout, /DRY RUN — nothing was changed/);
      assert.match(dry.stdout, /total: 3 series, 3 points in 2 batch/);
      assert.equal((await rt.store.list('infra/')).length, 0, 'a dry run writes nothing');

      const real = await runCli([...base, '--wait', '--json']);
      assert.equal(real.status, 0, real.stderr);
      const summary = JSON.parse(real.stdout);
      assert.equal(summary.status, 'archived');
      assert.equal(summary.points, 3);
      assert.equal(summary.workflowId, 'archive/infra/cli-ds/2026-09');
      assert.match(
        summary.uiUrl,
        /^http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/archive%2Finfra/,
      );
      for (const secret of [w.readToken, w.writeToken]) {
        assert.ok(
          !real.stdout.includes(secret) && !real.stderr.includes(secret),
          'no token in the CLI output',
        );
      }

      // A rerun checks the month for late points; there are none, so it changes nothing.
      const again = await runCli([...base, '--wait']);
      assert.equal(again.status, 0, again.stderr);
      assert.match(
        again.stdout,
        /already archived, and no point was written into it since; nothing was done/,
      );
    });
    await rt.close();
  });
});
