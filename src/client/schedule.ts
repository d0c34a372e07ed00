// The monthly Temporal Schedule: made from the config (schedule section + top-level timezone), created
// or updated idempotently, described for people. Overlap SKIP: a month's run never starts while the
// previous one is still in flight.
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptions,
} from '@temporalio/client';
import { durationMs, scheduleSchema, type OffloadConfig, type ScheduleConfig } from '../config/schema.ts';
import { scheduledWorkflowId } from '../offload/ids.ts';
import { OffloadMonth, OffloadPhase } from '../search-attributes.ts';
import type { MonthlyInput, MonthlyResult } from '../workflows/monthly.ts';

/** The schedule section with its defaults (the section is optional). */
export function scheduleConfig(config: OffloadConfig): ScheduleConfig {
  return config.schedule ?? scheduleSchema.parse({});
}

export function scheduleHandle(client: Client, config: OffloadConfig): ScheduleHandle {
  return client.schedule.getHandle(scheduleConfig(config).id);
}

/** What the server should hold for this config. */
export function scheduleOptions(config: OffloadConfig): ScheduleOptions {
  const s = scheduleConfig(config);
  const input: MonthlyInput = {}; // the month comes from the nominal time, the groups from the config
  return {
    scheduleId: s.id,
    spec: {
      calendars: [
        {
          dayOfMonth: s.dayOfMonth,
          hour: s.hour,
          minute: s.minute,
          comment: 'monthly offload of the previous month',
        },
      ],
      timezone: config.timezone,
    },
    action: {
      type: 'startWorkflow',
      workflowType: 'monthlyOffload',
      // The server appends the nominal time: offload/scheduled/<id>-2026-03-01T00:30:00Z.
      workflowId: scheduledWorkflowId(s.id),
      taskQueue: config.temporal.taskQueue,
      args: [input],
      staticSummary: 'monthly offload of the previous month (scheduled)',
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: durationMs(s.catchupWindow) ?? 3 * 86_400_000,
      pauseOnFailure: s.pauseOnFailure,
    },
  };
}

export function describeSpec(config: OffloadConfig): string {
  const s = scheduleConfig(config);
  const hm = `${String(s.hour).padStart(2, '0')}:${String(s.minute).padStart(2, '0')}`;
  return `day ${s.dayOfMonth} of every month at ${hm} ${config.timezone}`;
}

/** Creates the schedule, or brings an existing one in line with the config (keeping its paused state). */
export async function createOrUpdateSchedule(
  client: Client,
  config: OffloadConfig,
): Promise<'created' | 'updated'> {
  const opts = scheduleOptions(config);
  try {
    await client.schedule.create({ ...opts, state: { note: 'managed by npm run schedule' } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await updateSchedule(client, config);
    return 'updated';
  }
}

/** Updates an existing schedule; throws ScheduleNotFoundError when there is none. */
export async function updateSchedule(client: Client, config: OffloadConfig): Promise<void> {
  const { spec, action, policies } = scheduleOptions(config);
  await scheduleHandle(client, config).update((prev) => ({
    spec,
    action,
    policies,
    // An operator's pause (and its note) survives a config update.
    state: { paused: prev.state.paused, note: prev.state.note },
  }));
}

export interface ScheduleRun {
  scheduledAt: Date;
  takenAt: Date;
  workflowId: string;
  runId: string;
  status: string;
  month?: string;
  phase?: string;
  summary?: string;
}

export interface ScheduleReport {
  id: string;
  spec: string;
  /** The server's calendar differs from the config: `update` would change it. */
  outOfDate: boolean;
  paused: boolean;
  note?: string;
  overlap: string;
  catchupWindowMs: number;
  pauseOnFailure: boolean;
  taskQueue: string;
  nextRuns: Date[];
  recent: ScheduleRun[];
  running: string[];
  actionsTaken: number;
  missedCatchupWindow: number;
  skippedOverlap: number;
}

/** The schedule as the server holds it, with the state and result of its recent runs. */
export async function describeSchedule(client: Client, config: OffloadConfig): Promise<ScheduleReport> {
  const d = await scheduleHandle(client, config).describe();
  const recent: ScheduleRun[] = [];
  for (const a of d.info.recentActions) {
    const { workflowId, firstExecutionRunId: runId } = a.action.workflow;
    const run: ScheduleRun = {
      scheduledAt: a.scheduledAt,
      takenAt: a.takenAt,
      workflowId,
      runId,
      status: 'UNKNOWN',
    };
    try {
      const h = client.workflow.getHandle(workflowId, runId);
      const w = await h.describe();
      run.status = w.status.name;
      run.month = w.typedSearchAttributes.get(OffloadMonth);
      run.phase = w.typedSearchAttributes.get(OffloadPhase);
      if (w.status.name === 'COMPLETED') run.summary = ((await h.result()) as MonthlyResult).summary;
    } catch {
      run.status = 'UNKNOWN (past the namespace retention?)';
    }
    recent.push(run);
  }
  return {
    id: d.scheduleId,
    spec: describeSpec(config),
    outOfDate: !specMatches(d, config),
    paused: d.state.paused,
    note: d.state.note,
    overlap: d.policies.overlap ?? 'SKIP',
    catchupWindowMs: d.policies.catchupWindow,
    pauseOnFailure: d.policies.pauseOnFailure,
    taskQueue: d.action.taskQueue ?? '(default)',
    nextRuns: d.info.nextActionTimes,
    recent,
    running: d.info.runningActions.map((r) => r.workflow.workflowId),
    actionsTaken: d.info.numActionsTaken,
    missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
    skippedOverlap: d.info.numActionsSkippedOverlap,
  };
}

function specMatches(d: ScheduleDescription, config: OffloadConfig): boolean {
  const s = scheduleConfig(config);
  const cal = d.spec.calendars ?? [];
  const only = (r: { start: number; end: number }[] | undefined, v: number) =>
    r?.length === 1 && r[0]?.start === v && r[0]?.end === v;
  return (
    cal.length === 1 &&
    d.spec.timezone === config.timezone &&
    only(cal[0]?.dayOfMonth, s.dayOfMonth) &&
    only(cal[0]?.hour, s.hour) &&
    only(cal[0]?.minute, s.minute) &&
    d.action.taskQueue === config.temporal.taskQueue
  );
}

/** `2026-03-01 00:30 Europe/Paris (2026-02-28T23:30:00Z)` */
export function formatTime(at: Date, timeZone: string): string {
  const local = new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(at);
  return `${local} ${timeZone} (${at.toISOString().replace(/\.000Z$/, 'Z')})`;
}

export function formatScheduleReport(r: ScheduleReport, timeZone: string): string {
  const days = (ms: number) =>
    ms % 86_400_000 === 0 ? `${ms / 86_400_000} day(s)` : `${ms / 60_000} minute(s)`;
  const lines = [
    `schedule ${r.id}: ${r.paused ? 'PAUSED' : 'active'}${r.note ? ` (${r.note})` : ''}`,
    `  runs monthlyOffload on task queue ${r.taskQueue}, ${r.spec}`,
    `  overlap ${r.overlap}, catch-up window ${days(r.catchupWindowMs)}, pause on failure ${r.pauseOnFailure ? 'yes' : 'no'}`,
  ];
  if (r.outOfDate)
    lines.push('  ! the server holds another calendar than the config: run `npm run schedule -- update`');
  lines.push(`  next runs:${r.nextRuns.length === 0 ? ' none' : ''}`);
  for (const t of r.nextRuns.slice(0, 5)) lines.push(`    ${formatTime(t, timeZone)}`);
  lines.push(
    `  actions taken ${r.actionsTaken}, skipped (overlap) ${r.skippedOverlap}, missed (catch-up window) ${r.missedCatchupWindow}`,
  );
  if (r.running.length > 0) lines.push(`  running now: ${r.running.join(', ')}`);
  lines.push(`  recent runs:${r.recent.length === 0 ? ' none yet' : ''}`);
  for (const run of [...r.recent].reverse()) {
    lines.push(
      `    ${formatTime(run.scheduledAt, timeZone)}  ${run.status}${run.month ? `  month ${run.month}` : ''}${
        run.phase ? `  phase ${run.phase}` : ''
      }`,
      `      ${run.workflowId}`,
    );
    if (run.summary) lines.push(`      ${run.summary}`);
  }
  return lines.join('\n');
}

export { ScheduleNotFoundError };
