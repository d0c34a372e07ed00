// `groupOffload`: one group of a month (the reference's infrastructure or client subflow). Lists the
// group's datasets — configured plus discovered — then archives each as a child `archive` workflow:
// `parallel` with at most `concurrency` in flight (EachParallel), or `sequential` (EachSequential).
//
// Thousands of datasets: the list lives in the store, not in history; each run works through one chunk
// of it and continues as new with a cursor and running totals, so no history grows past a few thousand
// events and the result stays bounded (counts for all, names for failures and the first few others).
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { DatasetEntry, OffloadActivities } from '../activities/offload.ts';
import type { PageActivities, PageResult } from '../activities/page.ts';
import { NON_RETRYABLE } from '../archive/failure-types.ts';
import { failureWorkflowId } from '../archive/layout.ts';
import type { GroupMode } from '../config/schema.ts';
import { archiveStaticDetails, archiveSummary } from './summaries.ts';
import { datasetWorkflowId } from '../offload/ids.ts';
import { OffloadDataset, OffloadGroup, OffloadMonth, OffloadPhase } from '../search-attributes.ts';
import type { ArchiveInput, ArchiveResult, archive } from './archive.ts';
import {
  groupProgress,
  offloadProgress,
  pendingOf,
  type GroupProgress,
  type OffloadProgress,
} from './progress.ts';
import { WARP10_OUTAGE_RETRY } from './retry-policies.ts';

/** Datasets listed and run at a time: about 10 history events each when each has its own workflow. */
export const DEFAULT_CHUNK = 200;
/** A run starts datasets while its history holds fewer events than this, then continues as new. */
export const RUN_EVENTS = 2_000;
/** Small datasets archived by one page activity, at most. */
export const PAGE_SIZE = 20;
/** Result size bounds (a result is one payload, kept well under Temporal's 2 MB): every failure up to
 * this many, other datasets by name up to MAX_LISTED, reasons cut to MAX_REASON characters. */
export const MAX_FAILED_LISTED = 500;
export const MAX_LISTED = 200;
const MAX_REASON = 300;

export interface GroupSpec {
  name: string;
  mode: GroupMode;
  concurrency: number;
}

export interface DatasetOutcome {
  dataset: string;
  status: 'archived' | 'skipped' | 'dry-run' | 'failed';
  /** Its archive workflow; the group run's own ID when it was archived in a page (small datasets). */
  workflowId: string;
  points?: number;
  /** Series whose metadata left Warp 10 after the commit (purgeEmptySeries); a dry run's would. */
  purged?: number;
  /** Why it was skipped or failed. */
  reason?: string;
  /** Failed only: the compensating workflow the archive run started (see failure.ts). */
  failureWorkflowId?: string;
}

export interface GroupCounts {
  total: number;
  discovered: number;
  archived: number;
  skipped: number;
  dryRunDatasets: number;
  failed: number;
  points: number;
  bytes: number;
  /** Series whose metadata the purges removed (dry run: would remove); absent in runs before it. */
  purged?: number;
}

export interface GroupState {
  snapshot: string;
  cursor: number;
  counts: GroupCounts;
  datasets: DatasetOutcome[];
  notListed: number;
  runs: number;
  startedAt: number;
}

export interface GroupOffloadInput {
  month: string;
  group: GroupSpec;
  dryRun?: boolean;
  /** A recheck of an earlier month for late points: only its committed datasets are run again. */
  recheck?: boolean;
  /** Archive even inside the configured lateness after the month's end. */
  ignoreLateness?: boolean;
  /** Datasets listed and run at a time (default DEFAULT_CHUNK). */
  chunkSize?: number;
  /** Set by continue-as-new only. */
  state?: GroupState;
}

export interface GroupResult extends GroupCounts {
  group: string;
  month: string;
  mode: GroupMode;
  dryRun: boolean;
  workflowId: string;
  /** Runs of the continue-as-new chain. */
  runs: number;
  durationMs: number;
  /** Every failed dataset (up to MAX_FAILED_LISTED), then the others up to MAX_LISTED. */
  datasets: DatasetOutcome[];
  /** Datasets in the counts but not in `datasets`. */
  notListed: number;
}

// Listing datasets may run a discovery over the whole cluster's metadata, as heavy as an export.
const prepare = proxyActivities<OffloadActivities>({
  startToCloseTimeout: '1 hour',
  // Discovery heartbeats every few seconds while Warp 10 computes (keep-alive.ts).
  heartbeatTimeout: '30 seconds',
  retry: WARP10_OUTAGE_RETRY,
});

const pages = proxyActivities<OffloadActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumInterval: '1 minute', maximumAttempts: 20, nonRetryableErrorTypes: [...NON_RETRYABLE] },
});

// A page's datasets are archived one after another, each step heartbeating; a page that gives up hands
// its datasets to their own workflows (which retry), so its own retries only cover a lost worker.
const pageActivities = proxyActivities<PageActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { maximumInterval: '1 minute', maximumAttempts: 5 },
});

// Waits as long as the run it attached to; the heartbeat notices a lost worker within a minute.
const waiting = proxyActivities<OffloadActivities>({
  startToCloseTimeout: '7 days',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '1 minute', nonRetryableErrorTypes: ['AwaitedWorkflowFailed'] },
});

export async function groupOffload(input: GroupOffloadInput): Promise<GroupResult> {
  const info = workflowInfo();
  const { month, group } = input;
  const dryRun = input.dryRun === true;
  const width = group.mode === 'parallel' ? group.concurrency : 1;
  const chunkSize = Math.max(1, input.chunkSize ?? DEFAULT_CHUNK);
  let phase: GroupProgress['status'] = input.state ? 'archive' : 'discover';
  let running = 0;
  let total: number | undefined = input.state?.counts.total;
  const state: GroupState = input.state ?? {
    snapshot: '',
    cursor: 0,
    counts: {
      total: 0,
      discovered: 0,
      archived: 0,
      skipped: 0,
      dryRunDatasets: 0,
      failed: 0,
      points: 0,
      bytes: 0,
    },
    datasets: [],
    notListed: 0,
    runs: 0,
    startedAt: info.startTime.getTime(),
  };
  state.runs++;
  const { counts } = state;

  const progress = (): GroupProgress => {
    const c = { total, ...pick(counts), running };
    return { group: group.name, status: phase, workflowId: info.workflowId, ...c, pending: pendingOf(c) };
  };
  setHandler(offloadProgress, (): OffloadProgress => ({ month, phase, ...progress() }));
  const parent = info.parent;
  let reported = 0;
  const report = () => {
    reported = finished(counts);
    if (!parent) return;
    // Progress only: a signal lost (the parent already cancelled or closed) changes nothing.
    getExternalWorkflowHandle(parent.workflowId, parent.runId)
      .signal(groupProgress, progress())
      .catch(() => undefined);
  };
  const enter = (p: GroupProgress['status']) => {
    phase = p;
    upsertSearchAttributes([{ key: OffloadPhase, value: p }]);
  };
  upsertSearchAttributes([
    { key: OffloadMonth, value: month },
    { key: OffloadGroup, value: group.name },
    { key: OffloadPhase, value: phase },
  ]);

  if (!input.state) {
    const prep = await prepare.prepareGroup({
      group: group.name,
      month,
      snapshotId: info.firstExecutionRunId,
    });
    state.snapshot = prep.snapshot;
    counts.total = total = prep.total;
    counts.discovered = prep.discovered;
    enter('archive');
  }
  report();

  // Outcomes of this run by position in the dataset list: listed in that order, not of completion.
  const outcomes = new Map<number, DatasetOutcome>();
  const record = (position: number, o: DatasetOutcome, r?: { points: number; bytes: number }) => {
    if (o.purged) counts.purged = (counts.purged ?? 0) + o.purged;
    if (o.status === 'failed') counts.failed++;
    else if (o.status === 'archived') counts.archived++;
    else if (o.status === 'skipped') counts.skipped++;
    else counts.dryRunDatasets++;
    counts.points += r?.points ?? 0;
    counts.bytes += r?.bytes ?? 0;
    outcomes.set(position, o);
    // The parent hears of every percent done (and of each chunk): at most ~100 signals per group,
    // whatever its size, so the monthly history stays small.
    const percent = (n: number) => Math.floor((n * 100) / Math.max(1, counts.total));
    if (percent(finished(counts)) > percent(reported)) report();
  };
  const list = (o: DatasetOutcome) => {
    const listedFailed = state.datasets.filter((d) => d.status === 'failed').length;
    const fits =
      o.status === 'failed'
        ? listedFailed < MAX_FAILED_LISTED
        : state.datasets.length - listedFailed < MAX_LISTED;
    if (fits) state.datasets.push(o);
    else state.notListed++;
  };

  async function runDataset(ds: DatasetEntry, position: number): Promise<void> {
    const ref = { group: group.name, dataset: ds.name, month };
    const workflowId = datasetWorkflowId(ref, dryRun);
    const args: ArchiveInput = {
      ...ref,
      ...(ds.selector ? { selector: ds.selector, seriesPerBatch: ds.seriesPerBatch } : {}),
      ...(dryRun ? { dryRun } : {}),
      ...(input.ignoreLateness ? { ignoreLateness: true } : {}),
    };
    let runId: string | undefined;
    try {
      let result: ArchiveResult;
      try {
        const child = await startChild<typeof archive>('archive', {
          workflowId,
          args: [args],
          // If this group run is terminated, its archives are asked to stop rather than killed.
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          typedSearchAttributes: [
            { key: OffloadMonth, value: month },
            { key: OffloadGroup, value: group.name },
            { key: OffloadDataset, value: ds.name },
          ],
          staticSummary: archiveSummary(args),
          staticDetails: archiveStaticDetails(args),
        });
        runId = child.firstExecutionRunId;
        result = await child.result();
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        // Already running (started by hand, or by another run of this month): wait for that run.
        result = (await waiting.awaitWorkflow({ workflowId })) as ArchiveResult;
      }
      record(
        position,
        {
          dataset: ds.name,
          status: result.status,
          workflowId,
          points: result.points,
          ...(result.reason ? { reason: result.reason } : {}),
          ...(result.purge?.purged || result.wouldPurge
            ? { purged: result.purge?.purged ?? result.wouldPurge }
            : {}),
        },
        result,
      );
    } catch (err) {
      if (CancellationScope.current().consideredCancelled) throw err;
      // The archive run already started its compensation and alert (failure.ts) unless it was stopped
      // from outside (terminated, timed out, cancelled).
      const byArchive =
        runId !== undefined &&
        err instanceof ChildWorkflowFailure &&
        !(
          err.cause instanceof TerminatedFailure ||
          err.cause instanceof TimeoutFailure ||
          err.cause instanceof CancelledFailure
        );
      record(position, {
        dataset: ds.name,
        status: 'failed',
        workflowId,
        reason: failureReason(err),
        ...(byArchive && runId ? { failureWorkflowId: failureWorkflowId(ref, runId) } : {}),
      });
    }
  }

  /** A page of datasets in one activity; the ones it hands back run one by one as archive workflows. */
  async function runPage(items: [number, DatasetEntry][]): Promise<void> {
    let r: PageResult;
    try {
      r = await pageActivities.archivePage.executeWithOptions(
        {
          summary: pageSummary(
            group.name,
            month,
            items.map(([, ds]) => ds.name),
          ),
        },
        [
          {
            group: group.name,
            month,
            datasets: items.map(([, ds]) => ds),
            ...(input.ignoreLateness ? { ignoreLateness: true } : {}),
          },
        ],
      );
    } catch (err) {
      if (CancellationScope.current().consideredCancelled) throw err;
      // The page gave up (its retries spent): every dataset of it gets its own workflow.
      r = { done: [], handedOver: items.map(([, ds]) => ({ dataset: ds.name, why: failureReason(err) })) };
    }
    const at = new Map(items.map(([position, ds]) => [ds.name, { position, ds }]));
    for (const o of r.done) {
      const { position } = at.get(o.dataset)!;
      const outcome: DatasetOutcome = {
        dataset: o.dataset,
        status: o.status,
        workflowId: info.workflowId,
        points: o.points,
        ...(o.reason ? { reason: o.reason } : {}),
      };
      record(position, outcome, o);
    }
    for (const h of r.handedOver) {
      const { position, ds } = at.get(h.dataset)!;
      await runDataset(ds, position);
    }
  }

  // Datasets stream through the lanes: the list is read a chunk at a time, the next chunk while the
  // last units of the one before still run, so no lane waits at a chunk's end. A run stops starting
  // units once its history is large, lets them finish, and continues as new from there.
  const queue: [number, DatasetEntry][] = [];
  let listed = state.cursor;
  const listMore = async () => {
    const limit = Math.min(chunkSize, counts.total - listed);
    const chunk = await pages.groupDatasets({
      snapshot: state.snapshot,
      offset: listed,
      limit,
      ...(dryRun ? {} : { month, group: group.name }),
    });
    if (chunk.length === 0) {
      // Only a dataset list changed under a running group gets here; looping would never end.
      throw ApplicationFailure.create({
        type: 'PlanMissing',
        message: `${state.snapshot} holds fewer than the ${counts.total} datasets it listed at first`,
        nonRetryable: true,
      });
    }
    for (const [i, ds] of chunk.entries()) queue.push([listed + i, ds]);
    listed += chunk.length;
  };
  const skipUnarchived = () => {
    // A recheck looks for late points in committed months only; it never archives a new month.
    while (input.recheck && queue.length > 0 && !queue[0]![1].archived) {
      const [position, ds] = queue.shift()!;
      const ref = { group: group.name, dataset: ds.name, month };
      record(position, {
        dataset: ds.name,
        status: 'skipped',
        workflowId: datasetWorkflowId(ref, dryRun),
        points: 0,
        reason: `${month} of ${group.name}/${ds.name} is not archived: a recheck leaves it alone`,
      });
    }
  };
  const tasks: Promise<void>[] = [];
  try {
    for (;;) {
      if (queue.length < PAGE_SIZE * width && listed < counts.total) await listMore();
      skipUnarchived();
      if (queue.length === 0) {
        if (listed < counts.total) continue;
        break;
      }
      // A committed dataset runs too: its plan rechecks the month for late points.
      await condition(() => running < width);
      if (tasks.length > 0 && runIsFull()) break;
      // Small datasets go by pages (one activity archives a page; see activities/page.ts), smaller
      // toward the end so the lanes finish together; what a page hands back runs as the dataset's own
      // archive workflow. A dry run runs every dataset's workflow.
      const left = queue.length + counts.total - listed;
      const perPage = dryRun ? 1 : Math.max(1, Math.min(PAGE_SIZE, Math.ceil(left / (4 * width))));
      const items: [number, DatasetEntry][] = [];
      while (queue.length > 0 && items.length < perPage) {
        items.push(queue.shift()!);
        skipUnarchived();
      }
      running++;
      const [first] = items;
      const unit = dryRun && first ? runDataset(first[1], first[0]) : runPage(items);
      tasks.push(unit.finally(() => running--));
    }
  } finally {
    // Children finish (or finish cancelling) before this run closes or continues as new.
    await Promise.allSettled(tasks);
  }
  for (const t of await Promise.allSettled(tasks)) if (t.status === 'rejected') throw t.reason;
  state.cursor = queue[0]?.[0] ?? listed;
  for (const position of [...outcomes.keys()].sort((x, y) => x - y)) list(outcomes.get(position)!);
  if (state.cursor < counts.total) {
    report();
    await continueAsNew<typeof groupOffload>({ ...input, state });
  }
  enter('done');
  report();
  return {
    group: group.name,
    month,
    mode: group.mode,
    dryRun,
    workflowId: info.workflowId,
    runs: state.runs,
    durationMs: Date.now() - state.startedAt,
    ...counts,
    datasets: state.datasets,
    notListed: state.notListed,
  };
}

/** "archive 20 small dataset(s) of clients 2026-10: acme … globex" (the Web UI names the activity so). */
function pageSummary(group: string, month: string, names: string[]): string {
  const span = names.length > 1 ? `${names[0]} … ${names.at(-1)}` : (names[0] ?? '');
  return `archive ${names.length} small dataset(s) of ${group} ${month}: ${span}`;
}

function pick(c: GroupCounts) {
  const { archived, skipped, dryRunDatasets, failed, points, bytes } = c;
  return { archived, skipped, dryRunDatasets, failed, points, bytes };
}

const finished = (c: GroupCounts) => c.archived + c.skipped + c.dryRunDatasets + c.failed;

/** Enough history for one run: finish what runs, then continue as new. */
function runIsFull(): boolean {
  return historyIsLong() || workflowInfo().historyLength > RUN_EVENTS;
}

/** A run that came near Temporal's limits stops starting children and continues as new. */
function historyIsLong(): boolean {
  const i = workflowInfo();
  return i.continueAsNewSuggested || i.historyLength > 8_000 || i.historySize > 20 * 1024 * 1024;
}

/** The innermost cause, which says what actually went wrong ("LiveDataChanged: batch 2: ..."). */
export function failureReason(err: unknown): string {
  let e: unknown = err;
  while (e instanceof TemporalFailure && e.cause) e = e.cause;
  const reason =
    e instanceof TerminatedFailure
      ? 'terminated'
      : e instanceof TimeoutFailure
        ? 'timed out'
        : e instanceof CancelledFailure
          ? 'cancelled'
          : e instanceof ApplicationFailure
            ? `${e.type ?? 'Error'}: ${e.message}`
            : e instanceof Error
              ? `${e.name}: ${e.message}`
              : String(e);
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason;
}
