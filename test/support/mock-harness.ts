// Set-up shared by the UNIT TESTS that run the real workflows and activities on the real Temporal dev
// server and the real archive store, with a MOCK Warp 10 runner (mock-warp10.ts) in place of Warp 10.
import { randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { archiveWorkflowId, monthPrefix, type MonthRef } from '../../src/archive/layout.ts';
import type { OffloadConfig } from '../../src/config/schema.ts';
import { monthRange } from '../../src/month.ts';
import type { LogFn } from '../../src/slack/notifier.ts';
import type { ArchiveStore } from '../../src/store/types.ts';
import type { ArchiveInput, ArchiveResult } from '../../src/workflows/archive.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { testConfig, tempDir } from './config.ts';
import { MockWarp10, unwrapMock, type MockPoint } from './mock-warp10.ts';
import { uniqueId, workflowBundle } from './stack.ts';

export const MONTH = '2026-10';
export const GROUP = 'infra';
const range = monthRange(MONTH, 'UTC');
/** First microsecond of the month, and first microsecond of the next one. */
export const S = Number(range.startUs);
export const E = Number(range.endUs);
const HOUR = 3_600_000_000;

/**
 * Warp 10 tokens for the mock, in environment variables of this process only: the tests never need
 * (nor read) WARP10_READ_TOKEN / WARP10_WRITE_TOKEN, so they run the same with or without a real Warp 10.
 */
export const MOCK_TOKENS = {
  read: `mock-read-${randomUUID()}`,
  write: `mock-write-${randomUUID()}`,
  env: { read: 'OFFLOADER_MOCK_WARP10_READ_TOKEN', write: 'OFFLOADER_MOCK_WARP10_WRITE_TOKEN' },
};
process.env[MOCK_TOKENS.env.read] = MOCK_TOKENS.read;
process.env[MOCK_TOKENS.env.write] = MOCK_TOKENS.write;

/** Nothing listens there: a test that reached for the real Warp 10 would fail loudly. */
const NO_WARP10 = 'http://127.0.0.1:1';

export interface MockDataset {
  cls: string;
  /** Series with data in the month and their month points, in the mock's (plan) order. */
  month: Map<string, MockPoint[]>;
  /** Every point that must survive the archive (boundaries, other months, other class). */
  kept: Record<string, MockPoint[]>;
  points: number;
  /** The plan's batches for `seriesPerBatch`, as selectors. */
  batches(seriesPerBatch: number): string[][];
}

/**
 * `count` series with data in the month (2 to 5 points each, numbers, strings and booleans, the first
 * and last microsecond of the month included), each with a point at S-1 and at E that must stay;
 * two series with data only in other months; and a series of another class.
 */
export function seedDataset(mock: MockWarp10, cls: string, count = 25): MockDataset {
  const month = new Map<string, MockPoint[]>();
  const kept: Record<string, MockPoint[]> = {};
  for (let i = 0; i < count; i++) {
    const host = `h${String(i).padStart(2, '0')}`;
    const pts: MockPoint[] = [{ ts: S, value: i }];
    for (let k = 1; k <= i % 3; k++) pts.push({ ts: S + k * 24 * HOUR + i, value: `v ${i}.${k} été` });
    if (i % 2 === 0) pts.push({ ts: S + 20 * 24 * HOUR, value: i % 4 === 0 });
    pts.push({ ts: E - 1, value: i + 0.5 });
    const boundaries = [
      { ts: S - 1, value: -1 },
      { ts: E, value: -2 },
    ];
    const sel = mock.add(`${cls}{host=${host}}`, [...boundaries, ...pts]);
    month.set(sel, pts);
    kept[sel] = boundaries;
  }
  for (const host of ['old1', 'old2']) {
    const pts = [
      { ts: S - 10 * HOUR, value: 1 },
      { ts: E + 10 * HOUR, value: 2 },
    ];
    kept[mock.add(`${cls}{host=${host}}`, pts)] = pts;
  }
  const other = [{ ts: S + HOUR, value: 3 }];
  kept[mock.add(`${cls}.other{host=h00}`, other)] = other;
  const ordered = new Map([...month.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    cls,
    month: ordered,
    kept,
    points: [...month.values()].reduce((n, p) => n + p.length, 0),
    batches(seriesPerBatch) {
      const sels = [...ordered.keys()];
      const out: string[][] = [];
      for (let i = 0; i < sels.length; i += seriesPerBatch) out.push(sels.slice(i, i + seriesPerBatch));
      return out;
    },
  };
}

export interface MockOffloader {
  mock: MockWarp10;
  config: OffloadConfig;
  rt: Runtime;
  ref: MonthRef;
  taskQueue: string;
  /** Lines the runtime logged (Slack fallback, notifier warnings). */
  logs: { level: string; msg: string }[];
  /** A new worker on this test's task queue (the caller runs and stops it). */
  worker(): Promise<Worker>;
  /** Starts `archive` for this test's dataset-month. */
  start(input?: Partial<ArchiveInput>): Promise<WorkflowHandleWithFirstExecutionRunId>;
  /** Runs `archive` on a fresh worker until it ends; resolves with its result. */
  archive(input?: Partial<ArchiveInput>): Promise<ArchiveResult>;
  close(): Promise<void>;
}

export async function mockOffloader(
  env: TestWorkflowEnvironment,
  opts: {
    name: string;
    /** The mock to use (to share data between runs); a fresh one otherwise. */
    mock?: MockWarp10;
    cls?: string;
    seriesPerBatch?: number;
    /** One batch at a time unless set: most tests assert the exact order of the mock's calls. */
    batchConcurrency?: number;
    store?: unknown;
    slack?: unknown;
    /** Wraps the store the runtime builds (fault injection in the store). */
    wrapStore?: (store: ArchiveStore) => ArchiveStore;
  },
): Promise<MockOffloader> {
  const mock = opts.mock ?? new MockWarp10({ tokens: MOCK_TOKENS });
  const dataset = uniqueId(opts.name);
  const localDir = opts.store === undefined ? tempDir('offload-mock') : undefined;
  const config = testConfig({
    warp10Url: NO_WARP10,
    tokenEnv: MOCK_TOKENS.env,
    store: opts.store ?? { type: 'local', path: localDir },
    slack: opts.slack,
    groups: [
      {
        name: GROUP,
        datasets: [
          {
            name: dataset,
            selector: { class: opts.cls ?? 'unused' },
            seriesPerBatch: opts.seriesPerBatch ?? 10,
            batchConcurrency: opts.batchConcurrency ?? 1,
          },
        ],
      },
    ],
  });
  const logs: MockOffloader['logs'] = [];
  const log: LogFn = (level, msg) => logs.push({ level, msg });
  const built = buildRuntime(config, { log, runner: mock });
  // The activities use rt.store; close() still closes the store it wraps.
  const rt: Runtime = opts.wrapStore ? { ...built, store: opts.wrapStore(built.store) } : built;
  const taskQueue = uniqueId(`mock-${opts.name}`);
  const ref: MonthRef = { group: GROUP, dataset, month: MONTH };
  const bundle = await workflowBundle();
  const worker = () =>
    createOffloadWorker({ connection: env.nativeConnection, runtime: rt, taskQueue, workflowBundle: bundle });
  const start = (input: Partial<ArchiveInput> = {}) =>
    env.client.workflow.start('archive', {
      taskQueue,
      workflowId: archiveWorkflowId(ref),
      args: [{ ...ref, ...input }],
    });
  return {
    mock,
    config,
    rt,
    ref,
    taskQueue,
    logs,
    worker,
    start,
    async archive(input = {}) {
      const w = await worker();
      return w.runUntil(async () => (await start(input)).result() as Promise<ArchiveResult>);
    },
    async close() {
      await rt.close();
      if (localDir) await rm(localDir, { recursive: true, force: true });
    },
  };
}

/** Every key of the month in the store, sorted. */
/** The month's objects, relative; its index (named by its content) as `index-<sha>.idx`. */
export async function monthKeys(store: ArchiveStore, ref: MonthRef): Promise<string[]> {
  return (await store.list(monthPrefix(ref))).map((o) =>
    o.key.slice(monthPrefix(ref).length).replace(/^index-[0-9a-f]{16}\.idx$/, 'index-<sha>.idx'),
  );
}

export const COMPLETE_MONTH_KEYS = [
  'batch-00001.json',
  'batch-00001.wrap.gz',
  'batch-00002.json',
  'batch-00002.wrap.gz',
  'batch-00003.json',
  'batch-00003.wrap.gz',
  'index-<sha>.idx',
  'manifest.json',
  'plan.json',
];

/** Every file under a directory, relative, sorted (temporary files included). */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** The series an archive object holds (gzip, one mock-wrapped series a line), by selector. */
export async function readArchive(store: ArchiveStore, key: string): Promise<Map<string, MockPoint[]>> {
  const gunzip = createGunzip();
  Readable.from(await store.get(key)).pipe(gunzip);
  let text = '';
  for await (const chunk of gunzip as AsyncIterable<Buffer>) text += chunk.toString('utf8');
  const out = new Map<string, MockPoint[]>();
  for (const line of text.split('\n').filter((l) => l !== '')) {
    const { selector, points } = unwrapMock(line);
    out.set(selector, points);
  }
  return out;
}

/**
 * A workflow's whole history as text, payloads decoded: fetchHistory() gives payload bytes in base64,
 * where no token could ever be found by a text search.
 */
export async function historyText(handle: WorkflowHandle): Promise<string> {
  const history = await handle.fetchHistory();
  const text = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
  return JSON.stringify(history, (_key, value: unknown) => {
    const p = value as { metadata?: Record<string, unknown>; data?: unknown } | null;
    if (
      p &&
      typeof p === 'object' &&
      typeof p.data === 'string' &&
      p.metadata &&
      typeof p.metadata === 'object'
    ) {
      const metadata = Object.fromEntries(
        Object.entries(p.metadata).map(([k, v]) => [k, typeof v === 'string' ? text(v) : v]),
      );
      return { ...p, metadata, data: text(p.data) };
    }
    return value;
  });
}

/** Fails unless none of the secrets occurs in the text (the message names the secret's role only). */
export function findSecrets(text: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets)
    .filter(([, v]) => text.includes(v))
    .map(([k]) => k);
}

/** The results of every completed `activityType` activity in a workflow's history, decoded (JSON). */
export async function activityResults(handle: WorkflowHandle, activityType: string): Promise<unknown[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
      .map((e) => String(e.eventId)),
  );
  return events.flatMap((e) => {
    const done = e.activityTaskCompletedEventAttributes;
    if (!done || !scheduled.has(String(done.scheduledEventId))) return [];
    const data = done.result?.payloads?.[0]?.data;
    return data ? [JSON.parse(Buffer.from(data).toString('utf8')) as unknown] : [undefined];
  });
}
