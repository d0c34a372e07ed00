// The `restore` workflow: one dataset-month (or part of it) from the archive store back into Warp 10.
// It reads like the operation:
//   plan (the store alone) → check every batch against the target → refuse if the target already holds
//   other points there (unless merge) → restore every batch, each re-read and compared in Warp 10.
// Nothing is written before every batch is checked, so bad input, a corrupt object found by the check
// or a conflict leaves the target untouched.
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Conflict, RestoreActivities, RestoreBatchResult } from '../activities/restore.ts';
import type { SlackActivities } from '../activities/slack.ts';
import { workflowUiUrl } from '../ui-url.ts';
import type { NotifySettings } from './failure.ts';
import type { RestoreRequest } from '../restore/plan.ts';
import { OffloadDataset, OffloadGroup, OffloadMonth, OffloadPhase } from '../search-attributes.ts';
import { SLACK_RETRY, WARP10_OUTAGE_RETRY } from './retry-policies.ts';

export type RestorePhase = 'plan' | 'check' | 'restore' | 'done' | 'failed';

export type RestoreInput = RestoreRequest;

export interface RestoreProgress {
  phase: RestorePhase;
  target: string;
  batches: number;
  checked: number;
  restored: number;
  /** Selected series and their points (from the plan; exact once every batch is checked). */
  series: number;
  points: number;
  bytes: number;
  /** Points written so far. */
  written: number;
}

export interface RestoreResult {
  status: 'restored' | 'dry-run';
  group: string;
  dataset: string;
  month: string;
  target: string;
  batches: number;
  series: number;
  points: number;
  bytes: number;
  /** Series that already held exactly the archive's points (an earlier restore). */
  alreadyThere: number;
  /** Dry run: series in the target that already hold other points in the window (first ones named). */
  conflicts?: Conflict[];
  conflictCount?: number;
  dryRun?: { batch: number; series: number; points: number; bytes: number; object: string }[];
}

export const restoreProgress = defineQuery<RestoreProgress>('restoreProgress');

const restoreActivities = proxyActivities<RestoreActivities>({
  startToCloseTimeout: '2 hours',
  // Heartbeats every 5 s while Warp 10 works (keep-alive.ts): a dead worker's batch moves on after 30 s.
  heartbeatTimeout: '30 seconds',
  retry: WARP10_OUTAGE_RETRY,
});

// Slack trouble never breaks a restore's outcome: a failed notification is caught.
const slack = proxyActivities<SlackActivities>({ startToCloseTimeout: '5 minutes', retry: SLACK_RETRY });
const settings = proxyActivities<{ notifySettings(): Promise<NotifySettings> }>({
  startToCloseTimeout: '10 seconds',
});

const MAX_CONFLICTS_REPORTED = 20;
/** Batches checked or written at once by default: bounded, so a restore never floods the target. */
export const DEFAULT_RESTORE_CONCURRENCY = 2;

/** Runs `step` over `items`, at most `limit` at once; results in the order of `items`. Deterministic. */
async function eachBounded<T, R>(items: T[], limit: number, step: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await step(items[i] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}

export async function restore(input: RestoreInput): Promise<RestoreResult> {
  const { group, dataset, month } = input;
  const target = input.target ?? 'default';
  const progress: RestoreProgress = {
    phase: 'plan',
    target,
    batches: 0,
    checked: 0,
    restored: 0,
    series: 0,
    points: 0,
    bytes: 0,
    written: 0,
  };
  setHandler(restoreProgress, () => progress);
  const enter = (phase: RestorePhase) => {
    progress.phase = phase;
    upsertSearchAttributes([{ key: OffloadPhase, value: `restore-${phase}` }]);
  };
  upsertSearchAttributes([
    { key: OffloadMonth, value: month },
    { key: OffloadGroup, value: group },
    { key: OffloadDataset, value: dataset },
    { key: OffloadPhase, value: 'restore-plan' },
  ]);

  try {
    const plan = await restoreActivities.planRestore(input);
    Object.assign(progress, { batches: plan.batches.length, series: plan.series, points: plan.points });

    enter('check');
    const lanes = input.concurrency ?? DEFAULT_RESTORE_CONCURRENCY;
    const checked: RestoreBatchResult[] = await eachBounded(plan.batches, lanes, async (b) => {
      const r = await restoreActivities.checkRestoreBatch({ ...input, batch: b.batch });
      progress.checked++;
      return r;
    });
    const conflicts: Conflict[] = checked.flatMap((r) => r.conflicts).slice(0, MAX_CONFLICTS_REPORTED);
    const conflictCount = checked.reduce((n, r) => n + r.conflictCount, 0);
    const sum = (k: 'series' | 'points' | 'bytes' | 'same') => checked.reduce((n, r) => n + r[k], 0);
    Object.assign(progress, { series: sum('series'), points: sum('points'), bytes: sum('bytes') });
    const result = (status: RestoreResult['status'], extra: Partial<RestoreResult> = {}): RestoreResult => ({
      status,
      group,
      dataset,
      month,
      target,
      batches: plan.batches.length,
      series: progress.series,
      points: progress.points,
      bytes: progress.bytes,
      alreadyThere: sum('same'),
      ...extra,
    });

    if (input.dryRun) {
      enter('done');
      return result('dry-run', {
        conflicts,
        conflictCount,
        dryRun: plan.batches.map((b, i) => ({
          batch: b.batch,
          series: checked[i]?.series ?? 0,
          points: checked[i]?.points ?? 0,
          bytes: checked[i]?.bytes ?? 0,
          object: b.object,
        })),
      });
    }
    if (conflictCount > 0 && !input.merge) {
      const named = conflicts
        .map((c) => `${c.series} (${c.livePoints} live points from ${c.first} to ${c.last})`)
        .join('; ');
      throw ApplicationFailure.create({
        type: 'TargetHasData',
        message: `${conflictCount} series already hold other points in the window in Warp 10 (${target}): ${named}${conflictCount > conflicts.length ? '; …' : ''}. Nothing was written; restore with --merge to write into them anyway.`,
        nonRetryable: true,
        details: [{ conflicts, conflictCount }],
      });
    }

    enter('restore');
    await eachBounded(plan.batches, lanes, async (b) => {
      const r = await restoreActivities.restoreBatch({ ...input, batch: b.batch });
      progress.restored++;
      progress.written += r.written;
    });
    enter('done');
    return result('restored');
  } catch (err) {
    if (isCancellation(err)) throw err;
    const failedIn = progress.phase;
    enter('failed');
    await notifyFailure(input, failedIn, progress, err);
    throw err;
  }
}

/** The command that runs the same restore again (every flag shell-quoted). */
export function restoreCommand(input: RestoreInput): string {
  const q = (v: string) => (/^[\w.:/@+-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  const flags: [string, string | undefined][] = [
    ['--month', input.month],
    ['--group', input.group],
    ['--dataset', input.dataset],
    ['--series', input.series],
    ['--from', input.from],
    ['--to', input.to],
    ['--target', input.target],
  ];
  return [
    'npm run restore --',
    ...flags.filter(([, v]) => v !== undefined).map(([f, v]) => `${f} ${q(v!)}`),
    ...(input.merge ? ['--merge'] : []),
    '--wait',
  ].join(' ');
}

/** The team hears of a failed restore as of a failed archive; Slack trouble never hides the failure. */
async function notifyFailure(
  input: RestoreInput,
  phase: RestorePhase,
  progress: RestoreProgress,
  err: unknown,
) {
  const info = workflowInfo();
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const app = cause instanceof ApplicationFailure ? cause : undefined;
  const details = app?.details?.[0] as { batch?: number; attempt?: number } | undefined;
  try {
    const { uiUrl, namespace } = await settings.notifySettings();
    await slack.notifyFailure({
      operation: 'restore',
      month: input.month,
      group: input.group,
      dataset: input.dataset,
      phase: `restore-${phase}`,
      batch: details?.batch,
      batchCount: progress.batches,
      error: {
        type: app?.type ?? (cause as Error | undefined)?.name ?? 'Error',
        message: (cause as Error | undefined)?.message ?? String(cause),
      },
      attempts: details?.attempt ?? 1,
      workflowId: info.workflowId,
      runId: info.runId,
      uiUrl: workflowUiUrl(uiUrl, namespace, info.workflowId, info.runId),
      resumeCommand: restoreCommand(input),
      compensation:
        `${progress.restored} of ${progress.batches} batch(es) written and read back before the failure, ` +
        'nothing removed; a run again finds those already there',
    });
  } catch {
    // The failure is in this workflow's history; the worker logged why Slack refused.
  }
}
