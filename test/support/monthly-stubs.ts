// For UNIT TESTS of the monthly orchestration only (files named *.unit-mock.test.ts): the archive
// workflow's Warp 10 and store activities are replaced by in-memory STUBS that count what runs at once,
// so the real monthly, group and archive workflows run on the real Temporal dev server without Warp 10.
// The orchestration's own activities (settings, dataset list, waiting) are the real ones, on a real
// local archive store, with a stub WarpScript runner answering the discovery script.
import { Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createOffloadActivities } from '../../src/activities/offload.ts';
import { createCatalogActivities } from '../../src/activities/catalog.ts';
import { createStoreActivities } from '../../src/activities/store.ts';
import type { OffloadConfig } from '../../src/config/schema.ts';
import { createStore } from '../../src/store/index.ts';
import type { ArchiveStore } from '../../src/store/types.ts';
import type { WarpScriptRunner } from '../../src/warp10/runner.ts';
import { tempDir, testConfig } from './config.ts';
import { uniqueId, workflowBundle } from './stack.ts';
import { monthManifestKey } from '../../src/archive/layout.ts';
import type { MonthManifest } from '../../src/archive/manifest.ts';

type Ref = { group: string; dataset: string; month: string };
const key = (r: Ref) => `${r.group}/${r.dataset}/${r.month}`;

export interface StubCall {
  activity: string;
  group: string;
  dataset: string;
  month: string;
  start: number;
  end?: number;
}

export interface StubOptions {
  /** Each stub archive activity takes this long (ms). */
  delayMs?: number | ((ref: Ref) => number);
  /** Datasets whose export fails, non-retryably, with this message. */
  failExport?: (ref: Ref) => string | undefined;
  /** Points each archived dataset reports. */
  points?: number;
  /** Batches in each dataset's plan (default 1; 0 for an empty dataset). */
  batches?: (ref: Ref) => number;
}

/** Stub archive activities that remember what they archived and measure concurrency per group. */
export function archiveStubs(opts: StubOptions = {}, store?: ArchiveStore) {
  const archived = new Set<string>();
  const calls: StubCall[] = [];
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const failures: { activity: string; input: unknown }[] = [];
  const summaries: unknown[] = [];
  const points = opts.points ?? 10;

  async function track<T>(activity: string, ref: Ref, body: () => T | Promise<T>): Promise<T> {
    const call: StubCall = { activity, ...pickRef(ref), start: Date.now() };
    calls.push(call);
    const n = (inFlight.get(ref.group) ?? 0) + 1;
    inFlight.set(ref.group, n);
    maxInFlight.set(ref.group, Math.max(maxInFlight.get(ref.group) ?? 0, n));
    try {
      const delay = typeof opts.delayMs === 'function' ? opts.delayMs(ref) : (opts.delayMs ?? 0);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      return await body();
    } finally {
      inFlight.set(ref.group, (inFlight.get(ref.group) ?? 1) - 1);
      call.end = Date.now();
    }
  }

  const activities = {
    async planMonth(input: Ref & { dryRun?: boolean }) {
      return track('planMonth', input, () => {
        if (archived.has(key(input))) {
          return { status: 'archived' as const, batchCount: 1, series: 1, points, bytes: 100 };
        }
        if (input.dryRun) {
          return {
            status: 'dry-run' as const,
            batchCount: 1,
            series: 1,
            points,
            batches: [{ batch: 1, series: 1, points, object: `${key(input)}/batch-00001.wrap.gz` }],
          };
        }
        const batchCount = opts.batches?.(input) ?? 1;
        return { status: 'planned' as const, batchCount, series: batchCount };
      });
    },
    async exportBatch(input: Ref & { batch: number }) {
      return track('exportBatch', input, () => {
        const why = opts.failExport?.(input);
        if (why) {
          throw ApplicationFailure.create({
            type: 'WarpScriptError',
            message: why,
            nonRetryable: true,
            details: [{ attempt: 1, batch: input.batch }],
          });
        }
        return { batch: input.batch, skipped: false, series: 1, points, bytes: 100 };
      });
    },
    async verifyBatch(input: Ref & { batch: number }) {
      return track('verifyBatch', input, () => ({
        batch: input.batch,
        skipped: false,
        series: 1,
        points,
        bytes: 100,
      }));
    },
    async deleteBatch(input: Ref & { batch: number }) {
      return track('deleteBatch', input, () => ({
        batch: input.batch,
        skipped: false,
        series: 1,
        points,
        bytes: 100,
        deleted: 1,
        alreadyGone: 0,
        late: [] as string[],
      }));
    },
    async recheckMonth(input: Ref & { knownBatches: number }) {
      // No late series: the plan keeps its batches.
      return track('recheckMonth', input, () => ({ batchCount: input.knownBatches, series: 0 }));
    },
    // No index staged ahead: each commit stands alone (not tracked, as it changes nothing here).
    async stageMonthIndex() {
      return undefined;
    },
    async commitMonth(input: Ref & { workflowId: string; runId: string }) {
      return track('commitMonth', input, async () => {
        archived.add(key(input));
        const n = opts.batches?.(input) ?? 1;
        // Like the real commit: the month's manifest in the store is what marks it complete.
        if (store) {
          const range = { timezone: 'UTC', startIso: '', endIso: '', startUs: 0, endUs: 1 };
          const manifest: MonthManifest = {
            format: 'warp10-offloader/month@1',
            group: input.group,
            dataset: input.dataset,
            month: input.month,
            range,
            batches: [],
            series: n,
            points: n * points,
            bytes: n * 100,
            plannedAt: new Date().toISOString(),
            committedAt: new Date().toISOString(),
            workflowId: input.workflowId,
            runId: input.runId,
          };
          await store.put(monthManifestKey(input), JSON.stringify(manifest));
        }
        return {
          series: n,
          points: n * points,
          bytes: n * 100,
          batches: n,
          manifest: `${key(input)}/manifest.json`,
          revision: 1,
          added: { series: n, points: n * points, bytes: n * 100 },
        };
      });
    },
    // These tests are about the archive workflows: every page hands its datasets over to them.
    async archivePage(input: { datasets: { name: string }[] }) {
      return { done: [], handedOver: input.datasets.map((d) => ({ dataset: d.name, why: 'stub' })) };
    },
    async compensateFailure(input: Ref) {
      failures.push({ activity: 'compensateFailure', input });
      return { removed: [], kept: 0 };
    },
    async notifyFailure(input: unknown) {
      failures.push({ activity: 'notifyFailure', input });
      return { delivered: false, transport: 'log' };
    },
    async notifySuccess(summary: unknown) {
      summaries.push(summary);
      return { delivered: false, transport: 'log' };
    },
    async notifySettings() {
      return { uiUrl: 'http://127.0.0.1:8233', namespace: 'default' };
    },
  };
  return { activities, archived, calls, maxInFlight, failures, summaries };
}

function pickRef(r: Ref): Ref {
  return { group: r.group, dataset: r.dataset, month: r.month };
}

/**
 * A WarpScript runner that answers discover-datasets with the label values of the class, paged like
 * Warp 10's FIND (or throws the given error).
 */
export function discoveryRunner(
  valuesByClass: Record<string, string[] | Error>,
): WarpScriptRunner & { runs: number } {
  const runner = {
    runs: 0,
    async run<T>(script: string, params: Record<string, unknown>): Promise<T> {
      if (script !== 'discover-datasets') throw new Error(`stub runner: unexpected script ${script}`);
      runner.runs++;
      const values = valuesByClass[String(params.class)] ?? [];
      if (values instanceof Error) throw values;
      const gskip = Number(params.gskip);
      const page = values.slice(gskip, gskip + Number(params.gcount));
      return [{ matched: page.length, values: page }] as T;
    },
    async stream(): Promise<AsyncIterable<Uint8Array>> {
      throw new Error('stub runner: no streams');
    },
  };
  return runner;
}

export interface StubWorld {
  config: OffloadConfig;
  taskQueue: string;
  store: ArchiveStore;
  stubs: ReturnType<typeof archiveStubs>;
  worker: Worker;
}

/**
 * A config with unique group names (so workflow IDs never meet another test's), its task queue, a
 * local store and a worker running the real workflows with the stubs.
 */
export async function stubWorld(
  env: TestWorkflowEnvironment,
  opts: {
    groups: unknown[];
    stubs?: StubOptions;
    discovery?: Record<string, string[] | Error>;
    timezone?: string;
    slack?: unknown;
    schedule?: unknown;
    maxConcurrentActivityTaskExecutions?: number;
    lateData?: unknown;
  },
): Promise<StubWorld> {
  const taskQueue = uniqueId('monthly');
  const base = testConfig({
    groups: opts.groups,
    timezone: opts.timezone,
    slack: opts.slack,
    lateData: opts.lateData,
  });
  const config: OffloadConfig = {
    ...base,
    temporal: { ...base.temporal, taskQueue },
    ...(opts.schedule ? { schedule: opts.schedule as OffloadConfig['schedule'] } : {}),
  };
  const store = createStore({ type: 'local', path: tempDir('offload-monthly') });
  const stubs = archiveStubs(opts.stubs, store);
  const offload = createOffloadActivities({
    config,
    store,
    runner: discoveryRunner(opts.discovery ?? {}),
    tokens: { read: 'stub-read' },
    awaitPollMs: 200,
  });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    // The catalog for real on the stubs' manifests: its writer shares the worker's activity slots with
    // the commits waiting for it.
    activities: {
      ...stubs.activities,
      ...offload,
      publishCatalog: createStoreActivities({ store }).publishCatalog,
      ...createCatalogActivities({ store }),
    },
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 100,
  });
  return { config, taskQueue, store, stubs, worker };
}

/** A group name no other test uses (group names end up in every workflow ID of the run). */
export const uniqueGroup = (prefix: string) => uniqueId(prefix).toLowerCase();

/**
 * History lengths of every run of a workflow ID's continue-as-new chain, first to last: from the latest
 * run's first event (which names the chain's first run) forward through each ContinuedAsNew event.
 */
export async function chainHistoryLengths(client: Client, workflowId: string): Promise<number[]> {
  const latest = await client.workflow.getHandle(workflowId).fetchHistory();
  let runId: string | null | undefined =
    latest.events?.[0]?.workflowExecutionStartedEventAttributes?.firstExecutionRunId;
  const lengths: number[] = [];
  while (runId) {
    const h = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = h.events ?? [];
    lengths.push(events.length);
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
  }
  return lengths;
}
