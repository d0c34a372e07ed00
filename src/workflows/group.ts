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

/** Datasets per run: about 10 history events each, so a run stays near 2,000 events. */
export const DEFAULT_CHUNK = 200;
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
  workflowId: string;
  points?: number;
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
  /** Datasets per run before continuing as new (default DEFAULT_CHUNK). */
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

  // Outcomes of this chunk by position: listed in the order of the dataset list, not of completion.
  const chunkOutcomes: DatasetOutcome[] = [];
  const record = (position: number, o: DatasetOutcome, r?: ArchiveResult) => {
    if (o.status === 'failed') counts.failed++;
    else if (o.status === 'archived') counts.archived++;
    else if (o.status === 'skipped') counts.skipped++;
    else counts.dryRunDatasets++;
    counts.points += r?.points ?? 0;
    counts.bytes += r?.bytes ?? 0;
    chunkOutcomes[position] = o;
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

  const limit = Math.min(chunkSize, counts.total - state.cursor);
  const page =
    limit > 0
      ? await pages.groupDatasets({
          snapshot: state.snapshot,
          offset: state.cursor,
          limit,
          ...(dryRun ? {} : { month, group: group.name }),
        })
      : [];
  if (limit > 0 && page.length === 0) {
    // Only a dataset list changed under a running group gets here; looping would never end.
    throw ApplicationFailure.create({
      type: 'PlanMissing',
      message: `${state.snapshot} holds fewer than the ${counts.total} datasets it listed at first`,
      nonRetryable: true,
    });
  }
  const tasks: Promise<void>[] = [];
  try {
    for (const [position, ds] of page.entries()) {
      if (input.recheck && !ds.archived) {
        // A recheck looks for late points in committed months only; it never archives a new month.
        const ref = { group: group.name, dataset: ds.name, month };
        record(
          position,
          {
            dataset: ds.name,
            status: 'skipped',
            workflowId: datasetWorkflowId(ref, dryRun),
            points: 0,
            reason: `${month} of ${group.name}/${ds.name} is not archived: a recheck leaves it alone`,
          },
          { ...ref, status: 'skipped', batches: 0, series: 0, points: 0, bytes: 0 },
        );
        tasks.push(Promise.resolve());
        continue;
      }
      // A committed dataset runs too: its archive workflow rechecks the month for late points.
      await condition(() => running < width);
      if (tasks.length > 0 && historyIsLong()) break;
      running++;
      tasks.push(runDataset(ds, position).finally(() => running--));
    }
  } finally {
    // Children finish (or finish cancelling) before this run closes or continues as new.
    await Promise.allSettled(tasks);
  }
  for (const t of await Promise.allSettled(tasks)) if (t.status === 'rejected') throw t.reason;
  state.cursor += tasks.length;
  for (const o of chunkOutcomes) list(o);

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

function pick(c: GroupCounts) {
  const { archived, skipped, dryRunDatasets, failed, points, bytes } = c;
  return { archived, skipped, dryRunDatasets, failed, points, bytes };
}

const finished = (c: GroupCounts) => c.archived + c.skipped + c.dryRunDatasets + c.failed;

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
