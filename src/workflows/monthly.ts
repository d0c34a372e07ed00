// `monthlyOffload`: the month's main flow, started by the Temporal Schedule, a backfill or
// `npm run start-archive -- --month`. It reads like the reference's Kestra main flow:
//   settings (month, groups) → each group in configured order, as a child `groupOffload` → summary.
// A failing group is recorded and the next one still runs; a failing dataset is recorded by its group.
import {
  CancellationScope,
  ParentClosePolicy,
  log,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, defineSearchAttributeKey } from '@temporalio/common';
import type { GroupSettings, OffloadActivities } from '../activities/offload.ts';
import type { SlackActivities } from '../activities/slack.ts';
import { groupWorkflowId } from '../offload/ids.ts';
import { OffloadGroup, OffloadMonth, OffloadPhase } from '../search-attributes.ts';
import type { FailedDataset, RunSummary } from '../slack/message.ts';
import { workflowUiUrl } from '../ui-url.ts';
import { failureReason, type GroupResult, type groupOffload } from './group.ts';
import {
  groupProgress,
  offloadProgress,
  pendingOf,
  type GroupProgress,
  type OffloadProgress,
} from './progress.ts';
import { SLACK_RETRY } from './retry-policies.ts';
import { groupSummary } from './summaries.ts';

export interface MonthlyInput {
  /** YYYY-MM; default: the month before the schedule's nominal time (or this run's start). */
  month?: string;
  /** Only these groups (still in configured order); default: every group. */
  groups?: string[];
  dryRun?: boolean;
  /** Start at once, even inside the configured lateness after the month's end. */
  ignoreLateness?: boolean;
}

export interface GroupOutcome {
  group: string;
  status: 'done' | 'failed';
  workflowId: string;
  /** Why the group itself failed (its dataset list could not be made, for example). */
  reason?: string;
  result?: GroupResult;
}

export interface MonthlyResult {
  month: string;
  dryRun: boolean;
  /** nothing-to-do: every dataset was already archived. */
  status: 'archived' | 'nothing-to-do' | 'completed-with-failures' | 'dry-run';
  /** One line for people: what happened. */
  summary: string;
  datasets: number;
  archived: number;
  skipped: number;
  dryRunDatasets: number;
  failed: number;
  failedGroups: number;
  points: number;
  bytes: number;
  /** Series whose metadata left Warp 10 after their month's commit (dry run: would leave). */
  purged: number;
  durationMs: number;
  groups: GroupOutcome[];
  /** Earlier months checked again for late points (lateData.recheckMonths). */
  rechecked?: { month: string; archived: number; points: number; failed: number }[];
}

/** Set by Temporal on runs started by a Schedule: the nominal time, even for a late or caught-up run. */
export const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', 'DATETIME');

const settings = proxyActivities<OffloadActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['InvalidInput', 'ConfigError'] },
});

// Waits as long as the run it attached to; the heartbeat notices a lost worker within a minute.
const waiting = proxyActivities<OffloadActivities>({
  startToCloseTimeout: '7 days',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '1 minute', nonRetryableErrorTypes: ['AwaitedWorkflowFailed'] },
});

// The summary is best effort: a refusal never fails the month.
const slack = proxyActivities<SlackActivities>({
  startToCloseTimeout: '5 minutes',
  retry: SLACK_RETRY,
});

/** The nominal time of a scheduled run, or undefined for a run started otherwise. */
function scheduledStartTime(): Date | undefined {
  const info = workflowInfo();
  const typed = info.typedSearchAttributes.get(TemporalScheduledStartTime);
  if (typed) return typed;
  // Older servers or encodings: the untyped map holds the same value.
  const raw = info.searchAttributes?.TemporalScheduledStartTime?.[0];
  if (raw instanceof Date) return raw;
  if (typeof raw === 'string' && !Number.isNaN(Date.parse(raw))) return new Date(raw);
  return undefined;
}

export async function monthlyOffload(input: MonthlyInput = {}): Promise<MonthlyResult> {
  const info = workflowInfo();
  const dryRun = input.dryRun === true;
  let phase = 'settings';
  let month = input.month ?? '';
  const groups: GroupProgress[] = [];
  setHandler(groupProgress, (p) => {
    const i = groups.findIndex((g) => g.group === p.group);
    // A group may finish before its last signal arrives: a final status is never overwritten.
    if (i >= 0 && groups[i]?.status !== 'done' && groups[i]?.status !== 'failed') groups[i] = p;
  });
  setHandler(offloadProgress, (): OffloadProgress => {
    const sum = (f: (g: GroupProgress) => number) => groups.reduce((n, g) => n + f(g), 0);
    const known = groups.every((g) => g.total !== undefined);
    const c = {
      total: known ? sum((g) => g.total ?? 0) : undefined,
      archived: sum((g) => g.archived),
      skipped: sum((g) => g.skipped),
      dryRunDatasets: sum((g) => g.dryRunDatasets),
      failed: sum((g) => g.failed),
      running: sum((g) => g.running),
      points: sum((g) => g.points),
      bytes: sum((g) => g.bytes),
    };
    return { month, phase, ...c, pending: pendingOf(c), groups };
  });
  const enter = (p: string) => {
    phase = p;
    upsertSearchAttributes([{ key: OffloadPhase, value: p }]);
  };

  const nominal = scheduledStartTime();
  const s = await settings.offloadSettings({
    ...(input.month !== undefined ? { month: input.month } : {}),
    nominalTime: (nominal ?? info.startTime).toISOString(),
    ...(input.groups ? { groups: input.groups } : {}),
  });
  month = s.month;
  // Collectors still write the month's last points for a while: a scheduled run waits for them.
  const settleMs = Date.parse(s.settledAt) - Date.now();
  if (settleMs > 0 && !dryRun && !input.ignoreLateness) {
    upsertSearchAttributes([{ key: OffloadMonth, value: month }]);
    enter('settling');
    log.info('waiting for late data before archiving', { month, until: s.settledAt });
    await sleep(settleMs);
  }
  for (const g of s.groups) groups.push(emptyProgress(g, groupWorkflowId(month, g.name, dryRun)));
  upsertSearchAttributes([{ key: OffloadMonth, value: month }]);
  enter('running');
  log.info('monthly offload', { month, groups: s.groups.map((g) => g.name), dryRun, nominal });

  const outcomes: GroupOutcome[] = [];
  for (const [i, g] of s.groups.entries()) {
    // By index: the progress signal handler replaces the entry.
    const update = (p: Partial<GroupProgress>) => {
      const current = groups[i];
      if (current) groups[i] = { ...current, ...p };
    };
    update({ status: g.discover ? 'discover' : 'archive' });
    const outcome = await runGroup(month, g, { dryRun, ignoreLateness: input.ignoreLateness });
    outcomes.push(outcome);
    update(outcome.result ? fromResult(outcome.result) : { status: 'failed', running: 0 });
  }

  // Late points written into months committed earlier are archived too, so the hot cluster converges
  // to holding nothing of archived months.
  const rechecked: NonNullable<MonthlyResult['rechecked']> = [];
  if (!dryRun && s.recheck.length > 0) {
    enter('recheck');
    for (const m of s.recheck) {
      const results = [];
      for (const g of s.groups) results.push(await runGroup(m, g, { dryRun, recheck: true }));
      const r = summarize(m, false, results, 0);
      rechecked.push({ month: m, archived: r.archived, points: r.points, failed: r.failed + r.failedGroups });
    }
  }

  const result = {
    ...summarize(month, dryRun, outcomes, Date.now() - info.startTime.getTime()),
    ...(rechecked.length > 0 ? { rechecked } : {}),
  };
  const late = rechecked.filter((r) => r.archived > 0 || r.failed > 0);
  if (late.length > 0) {
    result.summary += `; late data: ${late
      .map(
        (r) =>
          `${r.month} ${r.points} point(s) in ${r.archived} dataset(s)${r.failed ? `, ${r.failed} failed` : ''}`,
      )
      .join(', ')}`;
  }
  if (s.successSummary && !dryRun && result.status !== 'nothing-to-do') {
    enter('notify');
    const link = workflowUiUrl(s.uiUrl, s.namespace, info.workflowId, info.runId);
    const summary: RunSummary = {
      month,
      archived: result.archived,
      skipped: result.skipped,
      failed: failedDatasets(outcomes),
      points: result.points,
      bytes: result.bytes,
      durationMs: result.durationMs,
      uiUrl: link,
      workflowId: info.workflowId,
    };
    try {
      await slack.notifySuccess(summary);
    } catch {
      // The result below says it all; the worker logged why Slack refused.
    }
  }
  enter(result.failed + result.failedGroups > 0 ? 'done-with-failures' : 'done');
  return result;
}

/** Runs one group of a month as a child workflow (or waits for the run already on it). */
async function runGroup(
  month: string,
  g: GroupSettings,
  opts: { dryRun: boolean; recheck?: boolean; ignoreLateness?: boolean },
): Promise<GroupOutcome> {
  const { dryRun } = opts;
  const workflowId = groupWorkflowId(month, g.name, dryRun);
  upsertSearchAttributes([{ key: OffloadGroup, value: g.name }]);
  try {
    let result: GroupResult;
    try {
      const child = await startChild<typeof groupOffload>('groupOffload', {
        workflowId,
        args: [
          {
            month,
            group: { name: g.name, mode: g.mode, concurrency: g.concurrency },
            dryRun,
            ...(opts.recheck ? { recheck: true } : {}),
            ...(opts.ignoreLateness ? { ignoreLateness: true } : {}),
          },
        ],
        // If this run is terminated, its groups are asked to stop rather than killed.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        typedSearchAttributes: [
          { key: OffloadMonth, value: month },
          { key: OffloadGroup, value: g.name },
        ],
        staticSummary: groupSummary(month, g.name, dryRun),
      });
      result = await child.result();
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // Another run of this month is on this group: wait for it instead of running it twice.
      result = (await waiting.awaitWorkflow({ workflowId })) as GroupResult;
    }
    return { group: g.name, status: 'done', workflowId, result };
  } catch (err) {
    if (CancellationScope.current().consideredCancelled) throw err;
    const reason = failureReason(err);
    log.warn('group failed; going on with the next', { group: g.name, month, reason });
    return { group: g.name, status: 'failed', workflowId, reason };
  }
}

function emptyProgress(g: GroupSettings, workflowId: string): GroupProgress {
  return {
    group: g.name,
    status: 'pending',
    workflowId,
    // Discovered datasets are only counted when the group runs.
    total: g.discover ? undefined : g.datasets,
    pending: g.discover ? undefined : g.datasets,
    archived: 0,
    skipped: 0,
    dryRunDatasets: 0,
    failed: 0,
    running: 0,
    points: 0,
    bytes: 0,
  };
}

function fromResult(r: GroupResult): Partial<GroupProgress> {
  return {
    status: 'done',
    total: r.total,
    pending: 0,
    archived: r.archived,
    skipped: r.skipped,
    dryRunDatasets: r.dryRunDatasets,
    failed: r.failed,
    running: 0,
    points: r.points,
    bytes: r.bytes,
  };
}

function failedDatasets(outcomes: GroupOutcome[]): FailedDataset[] {
  const out: FailedDataset[] = [];
  for (const o of outcomes) {
    if (o.status === 'failed') {
      out.push({ group: o.group, dataset: '(whole group)', workflowId: o.workflowId, phase: o.reason });
    }
    for (const d of o.result?.datasets ?? []) {
      if (d.status === 'failed') out.push({ group: o.group, dataset: d.dataset, workflowId: d.workflowId });
    }
  }
  return out;
}

export function summarize(
  month: string,
  dryRun: boolean,
  outcomes: GroupOutcome[],
  durationMs: number,
): MonthlyResult {
  const sum = (f: (r: GroupResult) => number) =>
    outcomes.reduce((n, o) => n + (o.result ? f(o.result) : 0), 0);
  const r = {
    datasets: sum((g) => g.total),
    archived: sum((g) => g.archived),
    skipped: sum((g) => g.skipped),
    dryRunDatasets: sum((g) => g.dryRunDatasets),
    failed: sum((g) => g.failed),
    failedGroups: outcomes.filter((o) => o.status === 'failed').length,
    points: sum((g) => g.points),
    bytes: sum((g) => g.bytes),
    purged: sum((g) => g.purged ?? 0),
  };
  const purged =
    r.purged > 0 ? `; ${r.purged} emptied series ${dryRun ? 'would leave' : 'left'} Warp 10's directory` : '';
  const status: MonthlyResult['status'] =
    r.failed + r.failedGroups > 0
      ? 'completed-with-failures'
      : dryRun
        ? 'dry-run'
        : r.archived === 0
          ? 'nothing-to-do'
          : 'archived';
  const failedGroups = r.failedGroups > 0 ? `, ${r.failedGroups} group(s) failed` : '';
  const summary =
    status === 'nothing-to-do'
      ? `${month}: nothing to do, ${r.skipped} of ${r.datasets} dataset(s) already archived`
      : status === 'dry-run'
        ? `${month} (dry run): ${r.dryRunDatasets} dataset(s) would be archived, ${r.skipped} already archived, ${r.points} point(s)${purged}`
        : `${month}: ${r.archived} archived, ${r.skipped} already archived, ${r.failed} failed${failedGroups}; ${r.points} point(s)${purged}`;
  return { month, dryRun, status, summary, ...r, durationMs, groups: outcomes };
}
