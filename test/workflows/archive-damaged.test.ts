// A batch already deleted from Warp 10 whose archive is then damaged in the store (its object removed, or
// a member's bytes altered): its archive was the only copy of its points. The next run of the month must
// fail loudly — the workflow's failure, the Slack alert and `npm run start-archive`'s exit code name the
// month, the batch and the object — `verify-archive` must name it, and nothing may be written over it
// (exporting it again would read nothing from Warp 10 and hide the loss). Real Warp 10, real Temporal, the
// real CLIs as an operator runs them, Slack as a local fake behind the real client.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  batchManifestKey,
  batchObjectKey,
  failureKey,
  failureWorkflowId,
  monthManifestKey,
  type MonthRef,
} from '../../src/archive/layout.ts';
import { BatchManifestSchema } from '../../src/archive/manifest.ts';
import type { LocalStore } from '../../src/store/local.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { writeConfigFile } from '../support/config.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import { utcMonth } from '../support/month.ts';
import { toInputFormat } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle } from '../support/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MONTH = '2026-05';
const { S } = utcMonth(MONTH);
const SLACK_TOKEN = `xoxb-damaged-${Date.now()}`;
process.env.DAMAGED_SLACK_TOKEN = SLACK_TOKEN;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

function cli(script: string, args: string[], envs: Record<string, string>) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...envs },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Every file of the store, by key, with the SHA-256 of its bytes. */
async function snapshot(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await fsp.readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    const key = path.relative(root, file).split(path.sep).join('/');
    out.set(
      key,
      createHash('sha256')
        .update(await fsp.readFile(file))
        .digest('hex'),
    );
  }
  return out;
}

type Damage = (file: string) => Promise<void>;

/**
 * Archives a month of 2 batches, undoes its commit (the state of a run that stopped after its deletes,
 * before its commit: every batch deleted, no manifest.json), damages batch 1's object, then reruns the
 * month with `npm run start-archive -- --wait`, and audits it with `npm run verify-archive`.
 */
async function damagedRerun(t: TestContext, damage: Damage) {
  const w = warp10OrSkip(t);
  if (!w) return undefined;
  const slack = await startFakeSlack({ token: SLACK_TOKEN, channels: ['#ops'] });
  t.after(() => slack.close());
  const cls = uniqueId('test.damaged').replace(/-/g, '.');
  const taskQueue = uniqueId('damaged');
  const { file, config } = writeConfigFile({
    warp10Url: w.url,
    taskQueue,
    dataset: 'damaged',
    cls,
    seriesPerBatch: 2,
    extra: {
      slack: { token: { env: 'DAMAGED_SLACK_TOKEN' }, channel: '#ops', apiUrl: slack.apiUrl },
      lateData: { lateness: '0 minutes' },
    },
  });
  const rt = buildRuntime(config, { log: () => {} });
  t.after(() => rt.close());
  const root = (rt.store as LocalStore).root;
  const ref: MonthRef = { group: 'infra', dataset: 'damaged', month: MONTH };
  await rt.client.update(
    w.writeToken,
    toInputFormat(
      [1, 2, 3, 4].map((h) => ({
        cls,
        labels: { host: `h${h}` },
        points: [0, 1, 2].map((i) => ({ ts: S + 1_000_000 * i + h, value: h * 10 + i })),
      })),
    ),
  );
  const envs = {
    OFFLOAD_CONFIG: file,
    WARP10_READ_TOKEN: w.readToken,
    WARP10_WRITE_TOKEN: w.writeToken,
  };
  const args = ['--month', MONTH, '--group', 'infra', '--dataset', 'damaged'];
  const worker = await createOffloadWorker({
    connection: env.nativeConnection,
    runtime: rt,
    taskQueue,
    workflowBundle: await workflowBundle(),
  });
  return worker.runUntil(async () => {
    const first = await cli('start-archive', [...args, '--wait', '--json'], envs);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).points, 12);
    const b1 = batchObjectKey(ref, 1);
    const bm = BatchManifestSchema.parse(JSON.parse(await rt.store.getText(batchManifestKey(ref, 1))));
    assert.equal(bm.status, 'deleted');
    await fsp.rm(path.join(root, ...monthManifestKey(ref).split('/')));
    await damage(path.join(root, ...b1.split('/')));
    const before = await snapshot(root);
    slack.reset();

    const rerun = await cli('start-archive', [...args, '--wait'], envs);
    const { runId } = await env.client.workflow.getHandle(`archive/infra/damaged/${MONTH}`).describe();
    // The compensating workflow of a failed run reports to Slack (none when the run did not fail).
    const failure =
      rerun.status === 0
        ? undefined
        : ((await env.client.workflow.getHandle(failureWorkflowId(ref, runId)).result()) as {
            notified: boolean;
          });
    const audit = await cli('verify-archive', [...args, '--json'], { OFFLOAD_CONFIG: file });
    const afterRun = await snapshot(root);
    return { rerun, failure, audit, before, afterRun, messages: slack.messages(), b1, ref, w, cls, rt };
  });
}

/** What every case asserts: the run failed naming month, batch and object; nothing was rewritten. */
function assertIncident(
  r: NonNullable<Awaited<ReturnType<typeof damagedRerun>>>,
  problem: RegExp,
  audited: RegExp,
) {
  const { rerun, failure, audit, before, afterRun, messages, b1, ref } = r;
  assert.equal(rerun.status, 1, `start-archive exits 1: ${rerun.stdout}${rerun.stderr}`);
  assert.match(rerun.stderr, /FAILED: ArchiveDamaged: /);
  assert.ok(rerun.stderr.includes(`${MONTH} batch 1: ${b1} `), rerun.stderr);
  assert.match(rerun.stderr, problem);
  assert.match(rerun.stderr, /deleted from Warp 10, so this archive is the only copy of its points/);
  assert.match(rerun.stderr, /Nothing was exported or rewritten over it/);
  assert.doesNotMatch(rerun.stderr, /hot data is intact/);

  assert.equal(failure?.notified, true, 'the Slack alert was delivered');
  assert.equal(messages.length, 1);
  const alert = JSON.stringify(messages[0]);
  for (const part of ['ArchiveDamaged', MONTH, 'batch 1', b1])
    assert.ok(alert.includes(part), `${part} in ${alert}`);

  assert.equal(audit.status, 1, audit.stderr);
  const report = JSON.parse(audit.stdout) as {
    audits: { problems: { object: string; problem: string }[] }[];
  };
  const problems = report.audits[0]?.problems ?? [];
  assert.ok(
    problems.some((p) => p.object === b1 && audited.test(p.problem)),
    JSON.stringify(problems),
  );
  assert.deepEqual(
    problems.filter((p) => p.object === batchObjectKey(ref, 2)),
    [],
    'batch 2 is whole',
  );

  // Byte for byte as before the rerun; the only new file is the failure record.
  assert.deepEqual([...afterRun.keys()].sort(), [...before.keys(), failureKey(ref)].sort());
  for (const [key, sha] of before) assert.equal(afterRun.get(key), sha, `${key} unchanged`);
}

describe('a damaged archive of a deleted batch (real Warp 10, real Temporal)', () => {
  test("fault: a deleted batch's object removed from the store, then the month rerun — ArchiveDamaged naming month, batch and object: start-archive exit 1, Slack alert, verify-archive names it, nothing rewritten", async (t) => {
    const r = await damagedRerun(t, (file) => fsp.rm(file));
    if (!r) return;
    assertIncident(r, / is missing; /, /^missing$/);
  });

  test("fault: a member of a deleted batch's object altered (bytes flipped), then the month rerun — ArchiveDamaged naming month, batch and object: start-archive exit 1, Slack alert, verify-archive names it, nothing rewritten", async (t) => {
    const r = await damagedRerun(t, async (file) => {
      const bytes = await fsp.readFile(file);
      // Inside member 0's compressed data, same size: only its SHA-256 (and the object's) tells.
      for (const i of [20, 21, 22]) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
      await fsp.writeFile(file, bytes);
    });
    if (!r) return;
    assertIncident(
      r,
      / has member 0 \(bytes 0\.\.\d+\) not matching its SHA-256 [0-9a-f]{64}; /,
      /member\(s\) differ from their SHA-256, first at byte 0|SHA-256 is/,
    );
  });
});
