// The bad-input matrix's machinery (issue 11 §3), shared by test/scripts/bad-input*.test.ts: the commands
// as an operator runs them, a fixture on the real stack (live points, an archived month, an S3 fake), and
// the checks every row makes — exit code, what is wrong, how to fix it, and that nothing changed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { planKey } from '../../src/archive/layout.ts';
import { monthRange } from '../../src/month.ts';
import { createStore } from '../../src/store/index.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { archiveRuns } from './archive-run.ts';
import { tempDir } from './config.ts';
import { dumpFull } from './restore-run.ts';
import { startS3Server, type TestS3Server } from './s3-server.ts';
import { toInputFormat } from './seed.ts';
import { tokenGen } from './tokengen.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle, type Warp10Stack } from './stack.ts';
import { parseConfig } from '../../src/config/load.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const MONTH = '2026-09';
export const { startUs, endUs } = monthRange(MONTH, 'UTC');
export const S = Number(startUs);
export const E = Number(endUs);
export const BUCKET = 'bad-input-archive';
export const LONG = 'x'.repeat(10_000);

export type Cli = 'start-archive' | 'restore' | 'verify-archive' | 'schedule' | 'worker' | 'erase';
export const ENTRY: Record<Cli, string> = {
  'start-archive': 'scripts/start-archive.ts',
  restore: 'scripts/restore.ts',
  'verify-archive': 'scripts/verify-archive.ts',
  schedule: 'scripts/schedule.ts',
  worker: 'workers/main.ts',
  erase: 'scripts/erase.ts',
};

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command as an operator does (no shell); a worker that does not exit is killed (and fails). */
export function run(cli: Cli, args: string[], vars: Record<string, string | undefined>): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY[cli], ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Fixture {
  w: Warp10Stack;
  storeDir: string;
  s3: TestS3Server;
  liveCls: string;
  archCls: string;
  /** A fresh copy of the base configuration, with the case's own task queue and schedule ID. */
  base(taskQueue: string, scheduleId: string): Raw;
}

export interface Case {
  /** The case, as the row names it. */
  name: string;
  cli: Cli;
  args: string[];
  /** Changes a copy of the base configuration (the file is written as JSON). */
  config?: (raw: Raw, f: Fixture) => void;
  /** Or a configuration file of its own: returns its path (it may not exist). */
  configFile?: (dir: string) => string;
  env?: (f: Fixture) => Record<string, string | undefined>;
  exit: number;
  /** Said literally: what is wrong. */
  says: string;
  /** How to fix it. */
  fix: RegExp;
  /** The whole output stays short (a 10,000-character input is not echoed whole). */
  maxOutput?: number;
}

export const s3Store = (f: Fixture, over: Raw = {}) => ({
  type: 's3',
  endpoint: f.s3.endpoint,
  bucket: BUCKET,
  accessKeyId: { env: 'BADINPUT_S3_KEY' },
  secretAccessKey: { env: 'BADINPUT_S3_SECRET' },
  ...over,
});
export const s3Env = (f: Fixture, key = f.s3.accessKeyId) => ({
  BADINPUT_S3_KEY: key,
  BADINPUT_S3_SECRET: f.s3.secretAccessKey,
});
export const month = ['--month', MONTH];
export const arch = [...month, '--dataset', 'arch'];
export const live = [...month, '--dataset', 'live'];

export function write(file: string, text: string): string {
  writeFileSync(file, text);
  return file;
}

/** Every file under `dir` with its size and modification time: the store as it is. */
export function snapshotDir(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

export let env: TestWorkflowEnvironment;
export let fx: Fixture | undefined;
let rt: Runtime | undefined;

export async function points(w: Warp10Stack, cls: string): Promise<number> {
  const rows = await dumpFull(w, cls, S, E - 1);
  return rows.reduce((n, r) => n + r[2].length, 0);
}

export async function snapshotBucket(f: Fixture): Promise<string[]> {
  const store = createStore({
    type: 's3',
    endpoint: f.s3.endpoint,
    region: f.s3.region,
    bucket: BUCKET,
    prefix: '',
    forcePathStyle: true,
    accessKeyId: f.s3.accessKeyId,
    secretAccessKey: f.s3.secretAccessKey,
  });
  try {
    return (await store.list('')).map((o) => `${o.key} ${o.bytes}`).sort();
  } finally {
    await store.close();
  }
}

/** Registers the fixture's set-up and tear-down in the calling test file. */
export function useFixture(): void {
  before(async () => {
    env = await temporalEnv();
    const { WARP10_URL, WARP10_READ_TOKEN, WARP10_WRITE_TOKEN } = process.env;
    if (!WARP10_URL || !WARP10_READ_TOKEN || !WARP10_WRITE_TOKEN) return; // each test skips or fails
    const w = { url: WARP10_URL, readToken: WARP10_READ_TOKEN, writeToken: WARP10_WRITE_TOKEN };
    const liveCls = uniqueId('test.badinput.live').replace(/-/g, '.');
    const archCls = uniqueId('test.badinput.arch').replace(/-/g, '.');
    const storeDir = tempDir('badinput-store');
    const s3 = await startS3Server([BUCKET]);
    const base = (taskQueue: string, scheduleId: string): Raw => ({
      timezone: 'UTC',
      warp10: {
        url: w.url,
        readToken: { env: 'WARP10_READ_TOKEN' },
        writeToken: { env: 'WARP10_WRITE_TOKEN' },
      },
      temporal: { address: process.env.TEMPORAL_ADDRESS, taskQueue, uiUrl: process.env.TEMPORAL_UI_URL },
      store: { type: 'local', path: storeDir },
      schedule: { id: scheduleId },
      groups: [
        {
          name: 'infra',
          datasets: [
            { name: 'live', selector: { class: liveCls }, seriesPerBatch: 2 },
            { name: 'arch', selector: { class: archCls }, seriesPerBatch: 2 },
          ],
        },
      ],
    });
    fx = { w, storeDir, s3, liveCls, archCls, base };
    // Live data that must survive every case, and an archived month for restore and verify-archive.
    rt = buildRuntime(parseConfig(base('unused', 'unused'), 'test'));
    const seed = (cls: string) =>
      toInputFormat(
        [1, 2, 3].map((h) => ({ cls, labels: { host: `h${h}` }, points: [{ ts: S + h, value: h }] })),
      );
    await rt.client.update(w.writeToken, seed(liveCls));
    await rt.client.update(w.writeToken, seed(archCls));
    const [archived] = await archiveRuns(env, rt, { group: 'infra', dataset: 'arch', month: MONTH });
    assert.equal(archived?.points, 3);
    // A month begun but never committed: a plan and no manifest.
    await rt.store.put(planKey({ group: 'infra', dataset: 'arch', month: '2025-12' }), '{}');
    // The same archive in the S3 bucket, so "refused" is not confused with "empty".
    const s3rt = createStore({
      type: 's3',
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: BUCKET,
      prefix: '',
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });
    for (const { key } of await rt.store.list('infra/')) await s3rt.put(key, await rt.store.getText(key));
    await s3rt.close();
  });

  after(async () => {
    await rt?.close();
    await fx?.s3.stop();
    await env?.teardown();
  });
}

// Cases do not depend on each other (each expects nothing to change): three at a time.
export function matrix(title: string, cases: Case[]): void {
  describe(title, { concurrency: 3 }, () => {
    for (const c of cases) {
      test(`bad input: ${c.name} — exit ${c.exit}, "${c.says}", nothing changed`, async (t) => {
        if (!warp10OrSkip(t)) return;
        const f = fx;
        assert.ok(f, 'fixture ready');
        const taskQueue = uniqueId('badinput');
        const scheduleId = uniqueId('badinput-schedule');
        const dir = tempDir('badinput-case');
        let configFile: string;
        if (c.configFile) configFile = c.configFile(dir);
        else {
          const raw = f.base(taskQueue, scheduleId);
          c.config?.(raw, f);
          configFile = write(path.join(dir, 'offload.json'), JSON.stringify(raw));
        }
        const storeBefore = snapshotDir(f.storeDir);
        const bucketBefore = await snapshotBucket(f);

        const res = await run(c.cli, c.args, { OFFLOAD_CONFIG: configFile, ...c.env?.(f) });
        const output = res.stdout + res.stderr;

        assert.equal(res.status, c.exit, output);
        assert.ok(output.includes(c.says), `says what is wrong (${c.says}):\n${output}`);
        assert.match(output, c.fix, 'says how to fix it');
        if (c.maxOutput !== undefined)
          assert.ok(output.length <= c.maxOutput, `${output.length} characters:\n${output.slice(0, 2000)}`);
        assert.doesNotMatch(output, /^\s+at .*\(.*:\d+:\d+\)$/m, 'no stack trace');

        // Nothing changed.
        const started = [];
        for await (const wf of env.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` }))
          started.push(wf);
        assert.deepEqual(
          started.map((x) => x.workflowId),
          [],
          'no workflow started',
        );
        await assert.rejects(env.client.schedule.getHandle(scheduleId).describe(), 'no schedule created');
        assert.deepEqual(snapshotDir(f.storeDir), storeBefore, 'the local store is unchanged');
        assert.deepEqual(await snapshotBucket(f), bucketBefore, 'the S3 bucket is unchanged');
        assert.equal(await points(f.w, f.liveCls), 3, 'no point deleted');
        assert.equal(await points(f.w, f.archCls), 0, 'no point restored');
      });
    }
  });
}

/** A configuration with its own task queue and one more dataset over `cls`; written for the CLI. */
export function withDataset(f: Fixture, dataset: string, cls: string, readEnv?: string, writeEnv?: string) {
  const taskQueue = uniqueId('badinput-run');
  const raw = f.base(taskQueue, uniqueId('badinput-schedule'));
  raw.groups[0].datasets.push({ name: dataset, selector: { class: cls }, seriesPerBatch: 2 });
  if (readEnv) raw.warp10.readToken = { env: readEnv };
  if (writeEnv) raw.warp10.writeToken = { env: writeEnv };
  const file = write(path.join(tempDir('badinput-run'), 'offload.json'), JSON.stringify(raw));
  return { taskQueue, file, config: parseConfig(raw, file) };
}

/** Runs `start-archive` while an in-process worker (with the runtime's tokens) serves its task queue. */
export async function startArchiveWithWorker(
  config: ReturnType<typeof parseConfig>,
  taskQueue: string,
  file: string,
  args: string[],
): Promise<Result> {
  const runtime = buildRuntime(config);
  const worker = await createOffloadWorker({
    connection: env.nativeConnection,
    runtime,
    taskQueue,
    workflowBundle: await workflowBundle(),
  });
  try {
    return await worker.runUntil(async () => {
      const res = await run('start-archive', args, { OFFLOAD_CONFIG: file });
      // Let the failure workflow (abandoned by the archive) finish its report before the worker stops.
      for (let i = 0; i < 200; i++) {
        let open = 0;
        for await (const wf of env.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` }))
          if (wf.status.name === 'RUNNING') open++;
        if (open === 0) break;
        await new Promise((r) => setTimeout(r, 150));
      }
      return res;
    });
  } finally {
    await runtime.close();
  }
}

/** Every activity of the workflow's history ran once: a refusal is not retried. */
export async function attempts(workflowId: string): Promise<number[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) =>
    e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 0] : [],
  );
}

/**
 * A READ token that expired in 1970, minted by Warp 10's own TokenGen with the local stack's keys
 * (undefined for a Warp 10 the stack did not install: its keys are not ours). The token file's tokens
 * never expire, so this is the one way to show how the offloader reports an expired token.
 */
export function mintExpiredReadToken(): string | undefined {
  const owner = '00000000-0000-4000-8000-00000000e1a0';
  const minted = tokenGen(
    `{ 'id' 'badinput-expired' 'type' 'READ' 'application' 'offloader' 'owner' '${owner}' 'issuance' 0 'expiry' 1000 ` +
      `'owners' [ '${owner}' ] 'producers' [ '${owner}' ] 'applications' [ 'offloader' ] } TOKENGEN`,
  ) as { token: string } | undefined;
  return minted?.token;
}
