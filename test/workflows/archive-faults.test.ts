// Failure paths of the archive against the REAL Warp 10, a real store (local, or the S3 fake) and a real
// Slack client: what a retry can fix is retried and the archive completes once the fault is gone; what it
// cannot fix fails fast and deletes nothing. Every row checks the points one by one (test/support/
// ledger.ts): each written point is archived or still live, none lost, none archived twice.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  archiveWorkflowId,
  batchObjectKey,
  failureKey,
  failureWorkflowId,
  type MonthRef,
} from '../../src/archive/layout.ts';
import { monthRange } from '../../src/month.ts';
import { LocalStore, createStore } from '../../src/store/index.ts';
import type { ArchiveStore } from '../../src/store/types.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import type { ArchiveResult } from '../../src/workflows/archive.ts';
import { testConfig, tempDir } from '../support/config.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { assertExactlyOnce, liveKeys, pointLedger, seedSeries, tickIn } from '../support/ledger.ts';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, startS3Server } from '../support/s3-server.ts';
import { toInputFormat, type SeedSeries } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle, type Warp10Stack } from '../support/stack.ts';
import { utcMonth } from '../support/month.ts';

const MONTH = '2026-08';
const { S, E } = utcMonth(MONTH);
const BROKEN = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'broken-export.mc2');

process.env.TEST_S3_KEY_ID = TEST_ACCESS_KEY_ID;
process.env.TEST_S3_SECRET = TEST_SECRET_ACCESS_KEY;
const SLACK_TOKEN = `xoxb-faults-${Date.now()}`;
process.env.FAULTS_SLACK_TOKEN = SLACK_TOKEN;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** 3 series of 2 points in the month, and one point on each side of it: 8 points. */
function smallSeed(cls: string): SeedSeries[] {
  return [1, 2, 3].map((h) => ({
    cls,
    labels: { host: `h${h}` },
    points: [
      ...(h === 1 ? [{ ts: S - 1, value: 0 }] : []),
      { ts: S + h, value: h },
      { ts: S + 100 + h, value: h },
      ...(h === 3 ? [{ ts: E, value: 0 }] : []),
    ],
  }));
}

interface RunOptions {
  /** Where the worker reaches Warp 10 (a fault proxy); default Warp 10 itself. */
  url?: string;
  template?: string;
  requestTimeoutMs?: number;
  storeConfig?: unknown;
  /** Overrides the configured store (S3 tuning). */
  store?: ArchiveStore;
  slack?: unknown;
  timezone?: string;
  month?: string;
  seed?: (cls: string) => SeedSeries[];
  seriesPerBatch?: number;
  /** Runs while the archive runs (inject and heal a fault). */
  during?: (handle: WorkflowHandle, ctx: Ctx) => Promise<void>;
  /** Runs once the archive settled, with the worker still running (compensation, a rerun). */
  then?: (ctx: Ctx) => Promise<void>;
}

interface Ctx {
  cls: string;
  store: ArchiveStore;
  taskQueue: string;
  workflowId: string;
}

/** Seeds a fresh class, runs one archive of it on an in-process worker, returns the outcome and the ledger. */
async function runArchive(t: { after: (fn: () => Promise<void>) => void }, w: Warp10Stack, opts: RunOptions) {
  const cls = uniqueId('test.fault').replace(/-/g, '.');
  const month = opts.month ?? MONTH;
  const config = testConfig({
    warp10Url: opts.url ?? w.url,
    ...(opts.storeConfig ? { store: opts.storeConfig } : {}),
    ...(opts.slack ? { slack: opts.slack } : {}),
    ...(opts.timezone ? { timezone: opts.timezone } : {}),
    groups: [
      {
        name: 'infra',
        datasets: [
          {
            name: 'faulty',
            selector: { class: cls },
            seriesPerBatch: opts.seriesPerBatch ?? 2,
            ...(opts.template ? { templates: { export: opts.template } } : {}),
          },
        ],
      },
    ],
  });
  if (opts.requestTimeoutMs) config.warp10.requestTimeoutMs = opts.requestTimeoutMs;
  const seed = (opts.seed ?? smallSeed)(cls);
  const rt = buildRuntime(config, { log: () => {}, ...(opts.store ? { store: opts.store } : {}) });
  t.after(() => rt.close());
  const seeder = new Warp10Client({ url: w.url }); // not through the fault proxy
  await seeder.update(w.writeToken, toInputFormat(seed));
  await seeder.close();
  const taskQueue = uniqueId('faults');
  const worker = await createOffloadWorker({
    connection: env.nativeConnection,
    runtime: rt,
    taskQueue,
    workflowBundle: await workflowBundle(),
  });
  const ref: MonthRef = { group: 'infra', dataset: 'faulty', month };
  const workflowId = `${archiveWorkflowId(ref)}-${taskQueue}`;
  const ctx: Ctx = { cls, store: rt.store, taskQueue, workflowId };
  const outcome = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('archive', { taskQueue, workflowId, args: [ref] });
    await opts.during?.(handle, ctx);
    const settled = await (handle.result() as Promise<ArchiveResult>).then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
    await opts.then?.(ctx);
    return settled;
  });
  const { startUs: s, endUs: e } = monthRange(month, config.timezone);
  return {
    ...outcome,
    cls,
    ref,
    workflowId,
    rt,
    ...pointLedger({ seed, store: rt.store, ref, cls, w }),
    inMonth: tickIn(Number(s), Number(e)),
  };
}

type Run = Awaited<ReturnType<typeof runArchive>>;

/** The archive completed and every point is in exactly one place. */
async function assertArchived(run: Run, points: number) {
  assert.equal(run.error, undefined, String(run.error));
  assert.equal(run.result?.status, 'archived');
  assert.equal(run.result?.points, points);
  assertExactlyOnce(run.written, await run.ledger(), run.inMonth);
}

/** The failure type of the archive run's failed activity. */
function failureType(error: unknown): string | undefined {
  assert.ok(error instanceof WorkflowFailedError, String(error));
  return (error.cause as { cause?: { type?: string } }).cause?.type;
}

async function withS3(t: { after: (fn: () => Promise<void>) => void }) {
  const s3 = await startS3Server(['archive']);
  const proxy = new FaultProxy(s3.endpoint);
  await proxy.start();
  t.after(async () => {
    await proxy.stop();
    await s3.stop();
  });
  const storeConfig = {
    type: 's3',
    endpoint: proxy.url,
    bucket: 'archive',
    prefix: 'warp10/',
    accessKeyId: { env: 'TEST_S3_KEY_ID' },
    secretAccessKey: { env: 'TEST_S3_SECRET' },
  };
  return { s3, proxy, storeConfig };
}

const isPut = (req: { method?: string }) => req.method === 'PUT';

describe('archive failure paths (real Warp 10)', () => {
  test('fault: WarpScript error in the export — fails fast, not retried, every point still live', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const run = await runArchive(t, w, { template: BROKEN });
    const { error, workflowId } = run;
    assert.ok(error instanceof WorkflowFailedError);
    const cause = (error.cause as { cause?: { type?: string; message?: string; details?: unknown[] } }).cause;
    assert.equal(cause?.type, 'WarpScriptError');
    assert.match(cause?.message ?? '', /broken-export\.mc2 failed at line 4/);
    const details = cause?.details?.[0] as { attempt: number; warp10?: { line?: number; message: string } };
    assert.equal(details.attempt, 1, 'not retried');
    assert.equal(details.warp10?.line, 4);
    assert.match(details.warp10?.message ?? '', /NOSUCHFUNCTION/);
    const { live, archived } = await run.ledger();
    assert.deepEqual(live.sort(), [...run.written].sort(), 'every point still in Warp 10');
    assert.deepEqual(archived, []);
    // The compensating workflow was started for this run.
    const failures = env.client.workflow.list({
      query: `WorkflowType = 'archiveFailure' AND WorkflowId STARTS_WITH 'archive-failure/infra/faulty/${MONTH}'`,
    });
    let found = false;
    for await (const f of failures)
      if (f.workflowId.includes((await env.client.workflow.getHandle(workflowId).describe()).runId))
        found = true;
    assert.ok(found, 'archiveFailure started');
  });

  test('fault: Warp 10 answering 503 — retried, archived, 0 points lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const proxy = new FaultProxy(w.url);
    await proxy.start();
    t.after(() => proxy.stop());
    proxy.failNext(2, { kind: '503' });
    const run = await runArchive(t, w, { url: proxy.url });
    assert.equal(proxy.faulted, 2);
    await assertArchived(run, 6);
  });

  test('fault: Warp 10 refusing connections — retried until it is back, archived, 0 points lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const proxy = new FaultProxy(w.url);
    await proxy.start();
    await proxy.stop(); // Warp 10 "down": nothing listens on the proxy's port
    const back = setTimeout(() => void proxy.start(), 4_000);
    t.after(async () => {
      clearTimeout(back);
      await proxy.stop();
    });
    const run = await runArchive(t, w, { url: proxy.url });
    await assertArchived(run, 6);
  });

  test('fault: Warp 10 request slower than the timeout — retried, archived, 0 points lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const proxy = new FaultProxy(w.url);
    await proxy.start();
    t.after(() => proxy.stop());
    proxy.failNext(1, { kind: 'hang', ms: 3_000 });
    const run = await runArchive(t, w, { url: proxy.url, requestTimeoutMs: 1_000 });
    await assertArchived(run, 6);
  });

  test('fault: Warp 10 reply cut mid-body — retried, archived, 0 points lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const proxy = new FaultProxy(w.url);
    await proxy.start();
    t.after(() => proxy.stop());
    // The plan's reply, then an export's reply, each cut after its first bytes.
    proxy.failNext(1, { kind: 'cut' });
    let seen = 0;
    proxy.failNext(1, { kind: 'cut' }, () => ++seen === 3);
    const run = await runArchive(t, w, {
      url: proxy.url,
      seed: (cls) => seedSeries(cls, 6, 200, S, 1_000_000),
    });
    assert.equal(proxy.faulted, 2);
    await assertArchived(run, 1_200);
  });

  test('fault: S3 store answering 500 and 503 — retried, archived, 0 points lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const { proxy, storeConfig } = await withS3(t);
    // More failures in a row than the SDK's own 3 attempts: the activity retries too.
    proxy.failNext(4, { kind: 'status', status: 500 }, isPut);
    proxy.failNext(4, { kind: 'status', status: 503 });
    const run = await runArchive(t, w, { storeConfig });
    assert.equal(proxy.faulted, 8);
    await assertArchived(run, 6);
  });

  test('fault: S3 store answering 503 to every request — nothing deleted while it lasts, archived once it recovers, 0 points lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const { proxy, storeConfig } = await withS3(t);
    proxy.failAll({ kind: '503' });
    const run = await runArchive(t, w, {
      storeConfig,
      during: async (handle, { cls }) => {
        // Several activity attempts fail (3 SDK attempts each) while S3 is down...
        await until('S3 outage seen by several attempts', () => proxy.faulted >= 9);
        const d = await handle.describe();
        assert.equal(d.status.name, 'RUNNING', 'the run waits for S3, it does not fail');
        assert.equal((await liveKeys(w, cls)).length, 8, 'nothing deleted from Warp 10 meanwhile');
        proxy.heal();
      },
    });
    await assertArchived(run, 6);
  });

  test('fault: S3 store hanging — the request times out, retried, archived, 0 points lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const { s3, proxy } = await withS3(t);
    // The configured store with a short socket timeout: a hung request fails after 1 s instead of 2 min.
    const store = createStore(
      {
        type: 's3',
        endpoint: proxy.url,
        region: s3.region,
        bucket: 'archive',
        prefix: 'warp10/',
        forcePathStyle: true,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
      { socketTimeoutMs: 1_000, maxAttempts: 1 },
    );
    proxy.failNext(2, { kind: 'hang', ms: 5_000 }, isPut);
    const run = await runArchive(t, w, { store });
    assert.equal(proxy.faulted, 2);
    await assertArchived(run, 6);
  });

  test('fault: archived object corrupted between export and verify — ArchiveCorrupt, nothing deleted, a rerun archives the month', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const ref: MonthRef = { group: 'infra', dataset: 'faulty', month: MONTH };
    // The store's first batch object loses a byte once written (after export computed its checksum).
    const store = new (class extends LocalStore {
      corrupted = 0;
      override async put(...args: Parameters<LocalStore['put']>) {
        const out = await super.put(...args);
        if (args[0] === batchObjectKey(ref, 1) && this.corrupted++ === 0) {
          const file = path.join(this.root, ...args[0].split('/'));
          const bytes = await fsp.readFile(file);
          bytes[bytes.length - 12] = (bytes[bytes.length - 12] ?? 0) ^ 0xff;
          await fsp.writeFile(file, bytes);
        }
        return out;
      }
    })(tempDir('faults-corrupt'));
    let rerun: ArchiveResult | undefined;
    const run = await runArchive(t, w, {
      store,
      seed: (cls) => seedSeries(cls, 4, 100, S, 1_000_000),
      then: async ({ taskQueue, cls }) => {
        assert.equal((await liveKeys(w, cls)).length, 400, 'nothing deleted from Warp 10');
        // Compensation removes the unverified (corrupt) object; then a new run of the same month archives it.
        await until('failure recorded', async () => (await store.head(failureKey(ref))) !== undefined);
        assert.equal(await store.head(batchObjectKey(ref, 1)), undefined, 'the corrupt object is removed');
        rerun = await env.client.workflow.execute('archive', {
          taskQueue,
          workflowId: `${archiveWorkflowId(ref)}-${taskQueue}-rerun`,
          args: [ref],
        });
      },
    });
    assert.equal(failureType(run.error), 'ArchiveCorrupt');
    assert.equal(store.corrupted, 2, 'batch 1 exported twice: by the failed run and by the rerun');
    assert.equal(rerun?.status, 'archived');
    assert.equal(rerun?.points, 400);
    assertExactlyOnce(run.written, await run.ledger(), run.inMonth);
  });

  test('fault: local store disk full (ENOSPC) — StoreTransientError, nothing deleted, archived once space returns, 0 points lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    // The disk fills up under the real LocalStore code: every file write fails as the kernel would say.
    const probe = await fsp.open(path.join(tempDir('faults-enospc'), 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const realWrite = proto.write;
    let full = true;
    let refused = 0;
    proto.write = function (this: unknown, ...args: unknown[]) {
      if (!full) return realWrite.apply(this, args);
      refused++;
      return Promise.reject(
        Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
          errno: -28,
          syscall: 'write',
        }),
      );
    };
    t.after(async () => {
      proto.write = realWrite;
    });
    const run = await runArchive(t, w, {
      during: async (handle, { cls }) => {
        let lastFailure: { type?: string; message?: string } | undefined;
        await until('a failed attempt reported', async () => {
          const d = await handle.describe();
          const f = d.raw.pendingActivities?.[0]?.lastFailure;
          lastFailure = f
            ? { type: f.applicationFailureInfo?.type ?? undefined, message: f.message ?? undefined }
            : undefined;
          return refused >= 2 && lastFailure !== undefined;
        });
        assert.equal(lastFailure?.type, 'StoreTransientError');
        assert.match(lastFailure?.message ?? '', /ENOSPC/);
        assert.equal((await liveKeys(w, cls)).length, 8, 'nothing deleted from Warp 10 meanwhile');
        full = false; // space returns
      },
    });
    await assertArchived(run, 6);
  });

  test('fault: Slack unreachable while a failure is reported — the failure is recorded at once, the message delivered once Slack is back, nothing lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const slack = await startFakeSlack({ token: SLACK_TOKEN, channels: ['#ops'] });
    const proxy = new FaultProxy(slack.baseUrl);
    await proxy.start();
    await proxy.stop(); // Slack unreachable: connection refused
    t.after(async () => {
      await proxy.stop();
      await slack.close();
    });
    let notified: boolean | undefined;
    const run = await runArchive(t, w, {
      template: BROKEN,
      slack: { token: { env: 'FAULTS_SLACK_TOKEN' }, channel: '#ops', apiUrl: `${proxy.url}/api/` },
      then: async ({ store, workflowId }) => {
        const ref: MonthRef = { group: 'infra', dataset: 'faulty', month: MONTH };
        const { runId } = await env.client.workflow.getHandle(workflowId).describe();
        const failure = env.client.workflow.getHandle(failureWorkflowId(ref, runId));
        // The failure record is written before Slack is tried; the notification keeps being retried.
        await until('failure record', async () => (await store.head(failureKey(ref))) !== undefined);
        await until('a second refused Slack attempt', async () => {
          const d = await failure.describe();
          return (d.raw.pendingActivities?.[0]?.attempt ?? 0) >= 2;
        });
        assert.equal((await failure.describe()).status.name, 'RUNNING');
        assert.equal(slack.messages().length, 0);
        await proxy.start(); // Slack is back
        notified = ((await failure.result()) as { notified: boolean }).notified;
      },
    });
    assert.equal(failureType(run.error), 'WarpScriptError');
    assert.equal(notified, true);
    assert.equal(slack.messages().length, 1);
    assert.match(JSON.stringify(slack.messages()[0]), /WarpScriptError|broken-export/);
    const { live, archived } = await run.ledger();
    assert.deepEqual(live.sort(), [...run.written].sort(), 'every point still in Warp 10');
    assert.deepEqual(archived, []);
  });

  test('fault: a month crossing the DST change in Europe/Paris (2026-03) — local-midnight boundaries, nothing outside deleted, 0 points lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const { startUs: ps, endUs: pe } = monthRange('2026-03', 'Europe/Paris');
    const s = Number(ps);
    const e = Number(pe);
    // 1 March 00:00 CET and 1 April 00:00 CEST, in UTC.
    assert.equal(s, Date.UTC(2026, 1, 28, 23) * 1000);
    assert.equal(e, Date.UTC(2026, 2, 31, 22) * 1000);
    const change = Date.UTC(2026, 2, 29, 1) * 1000; // 02:00 CET becomes 03:00 CEST
    const utcStart = Date.UTC(2026, 2, 1) * 1000;
    const utcEnd = Date.UTC(2026, 3, 1) * 1000;
    const run = await runArchive(t, w, {
      timezone: 'Europe/Paris',
      month: '2026-03',
      seed: (cls) => [
        {
          cls,
          labels: { host: 'edges' },
          points: [
            s - 1,
            s,
            utcStart - 1,
            utcStart,
            change - 1,
            change,
            change + 1,
            e - 1,
            e,
            utcEnd - 1,
            utcEnd,
          ].map((ts, i) => ({ ts, value: i })),
        },
      ],
    });
    await assertArchived(run, 7);
    const { live } = await run.ledger();
    assert.deepEqual(
      live.map((k) => Number(k.slice(k.lastIndexOf('@') + 1))).sort((a, b) => a - b),
      [s - 1, e, utcEnd - 1, utcEnd],
      'only the points outside the local month stay',
    );
  });
});
