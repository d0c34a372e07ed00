// Starting the monthly run from a client (start-archive without --dataset, backfill). One run per month
// at a time: the workflow ID is offload/<YYYY-MM>, and a start while one is running attaches to it.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { findGroup } from '../config/load.ts';
import type { OffloadConfig } from '../config/schema.ts';
import { MonthError, assertArchivableMonth, monthsBetween, parseMonth, previousMonth } from '../month.ts';
import { monthlyWorkflowId } from '../offload/ids.ts';
import { OffloadMonth, OffloadPhase } from '../search-attributes.ts';
import type { MonthlyInput, MonthlyResult } from '../workflows/monthly.ts';
import { monthlySummary } from '../workflows/summaries.ts';

export interface MonthlyRun {
  workflowId: string;
  runId: string;
  month: string;
  /** false: a run of this month was already in progress and this is it. */
  started: boolean;
}

/**
 * Checks the month (complete, in the configured time zone) and the groups against the config, then
 * starts `monthlyOffload`, or returns the run already in progress for that month.
 */
export async function startMonthly(
  client: Client,
  config: OffloadConfig,
  opts: { month?: string; groups?: string[]; dryRun?: boolean; ignoreLateness?: boolean; now?: Date } = {},
): Promise<MonthlyRun> {
  const now = opts.now ?? new Date();
  const month = opts.month ?? previousMonth(now, config.timezone);
  parseMonth(month);
  assertArchivableMonth(month, now, config.timezone);
  for (const g of opts.groups ?? []) findGroup(config, g);
  const workflowId = monthlyWorkflowId(month, opts.dryRun);
  const input: MonthlyInput = {
    month,
    ...(opts.groups && opts.groups.length > 0 ? { groups: opts.groups } : {}),
    ...(opts.dryRun ? { dryRun: true } : {}),
    ...(opts.ignoreLateness ? { ignoreLateness: true } : {}),
  };
  try {
    const handle = await client.workflow.start('monthlyOffload', {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [input],
      typedSearchAttributes: [
        { key: OffloadMonth, value: month },
        { key: OffloadPhase, value: 'settings' },
      ],
      staticSummary: monthlySummary(month, input),
    });
    return { workflowId, runId: handle.firstExecutionRunId, month, started: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const d = await client.workflow.getHandle(workflowId).describe();
    return { workflowId, runId: d.runId, month, started: false };
  }
}

export interface BackfillMonth extends MonthlyRun {
  result?: MonthlyResult;
  error?: string;
}

/** Checks a backfill range; throws MonthError with a message for people. */
export function backfillMonths(config: OffloadConfig, from: string, to: string, now = new Date()): string[] {
  parseMonth(from);
  parseMonth(to);
  const months = monthsBetween(from, to);
  assertArchivableMonth(to, now, config.timezone);
  if (months.length > 240)
    throw new MonthError(`${from}..${to} is ${months.length} months; backfill at most 240 at once`);
  return months;
}

/**
 * Archives every month of [from, to], oldest first, one month at a time: each month's run is started
 * (or joined, if already running) and awaited before the next. Datasets already archived are skipped
 * by their archive run's manifest check, so a backfill over archived months is cheap.
 */
export async function backfill(
  client: Client,
  config: OffloadConfig,
  opts: {
    from: string;
    to: string;
    groups?: string[];
    dryRun?: boolean;
    now?: Date;
    onMonth?: (m: BackfillMonth, phase: 'started' | 'finished') => void;
  },
): Promise<BackfillMonth[]> {
  const months = backfillMonths(config, opts.from, opts.to, opts.now);
  const out: BackfillMonth[] = [];
  for (const month of months) {
    const run: BackfillMonth = await startMonthly(client, config, {
      month,
      groups: opts.groups,
      dryRun: opts.dryRun,
      now: opts.now,
    });
    opts.onMonth?.(run, 'started');
    try {
      run.result = await client.workflow.getHandle(run.workflowId, run.runId).result();
    } catch (err) {
      run.error = err instanceof Error ? (rootMessage(err) ?? err.message) : String(err);
    }
    out.push(run);
    opts.onMonth?.(run, 'finished');
  }
  return out;
}

function rootMessage(err: Error): string | undefined {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : undefined;
}
