// The offloader's own Prometheus metrics (prom-client), and where they are measured: an activity
// interceptor (batch durations by phase, failures by type, archived amounts) and a wrapper around the
// WarpScript runner (Warp 10 request latency and errors). Nothing here is in workflow code.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import type { FeedingRunner, LineFeed, Params, WarpScriptRunner } from '../warp10/runner.ts';

const PHASE_OF_ACTIVITY: Record<string, string> = {
  planMonth: 'plan',
  exportBatch: 'export',
  verifyBatch: 'verify',
  deleteBatch: 'delete',
  archiveLateData: 'late',
  recheckMonth: 'recheck',
  stageMonthIndex: 'index',
  commitMonth: 'commit',
  purgeEmptySeries: 'purge',
  archivePage: 'page',
  compensateFailure: 'compensate',
  planRestore: 'restore-plan',
  checkRestoreBatch: 'restore-check',
  restoreBatch: 'restore-write',
};

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export class OffloaderMetrics {
  readonly registry = new Registry();
  readonly pointsArchived: Counter<'group' | 'dataset'>;
  readonly seriesArchived: Counter<'group' | 'dataset'>;
  readonly bytesArchived: Counter<'group' | 'dataset'>;
  readonly monthsArchived: Counter<'group' | 'dataset'>;
  readonly pointsExported: Counter<'group' | 'dataset'>;
  readonly pointsDeleted: Counter<'group' | 'dataset'>;
  readonly seriesPurged: Counter<'group' | 'dataset' | 'outcome'>;
  readonly pointsRestored: Counter<'group' | 'dataset'>;
  readonly seriesRestored: Counter<'group' | 'dataset'>;
  readonly bytesRestoreRead: Counter<'group' | 'dataset'>;
  readonly batchDuration: Histogram<'phase' | 'outcome'>;
  readonly failures: Counter<'activity' | 'type'>;
  readonly lateData: Counter<'group' | 'dataset' | 'phase'>;
  readonly warp10Duration: Histogram<'script' | 'outcome'>;
  readonly warp10Errors: Counter<'script' | 'kind'>;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const r = this.registry;
    const ds = ['group', 'dataset'] as const;
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name, help, labelNames, registers: [r] });
    this.pointsArchived = counter(
      'offloader_archived_points_total',
      'Points archived (stored, verified, deleted from Warp 10), counted when a month is committed',
      ds,
    );
    this.seriesArchived = counter(
      'offloader_archived_series_total',
      'Series archived, per committed month',
      ds,
    );
    this.bytesArchived = counter(
      'offloader_archived_bytes_total',
      'Bytes of archive objects stored, per committed month',
      ds,
    );
    this.monthsArchived = counter('offloader_archived_months_total', 'Dataset-months committed', ds);
    this.pointsExported = counter(
      'offloader_exported_points_total',
      'Points exported into the store, batch by batch (progress; a re-export after a failure counts again)',
      ds,
    );
    this.pointsRestored = counter(
      'offloader_restored_points_total',
      'Points written back into Warp 10 by restores and read back, batch by batch',
      ds,
    );
    this.seriesRestored = counter('offloader_restored_series_total', 'Series restored, batch by batch', ds);
    this.bytesRestoreRead = counter(
      'offloader_restore_read_bytes_total',
      'Archive bytes restores read from the store (whole objects, or the members of the series restored)',
      ds,
    );
    this.pointsDeleted = counter(
      'offloader_deleted_points_total',
      'Points deleted from Warp 10 by the guarded delete, batch by batch',
      ds,
    );
    this.seriesPurged = counter(
      'offloader_purged_series_total',
      'Series of committed months whose metadata the purge removed from Warp 10 (outcome purged), or ' +
        'registered again because a point arrived meanwhile (revived), or left for attributes changed since the export',
      ['group', 'dataset', 'outcome'],
    );
    this.batchDuration = new Histogram({
      name: 'offloader_activity_duration_seconds',
      help: 'Duration of one activity (plan, export/verify/delete of a batch, index, commit, compensate), by phase',
      labelNames: ['phase', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers: [r],
    });
    this.failures = counter(
      'offloader_activity_failures_total',
      'Failed activity attempts, by activity and error type (LiveDataChanged, WarpScriptError, ...)',
      ['activity', 'type'],
    );
    this.lateData = counter(
      'offloader_late_data_total',
      'Late data: supplements archived (phase late), and batches failed for data still changing (LiveDataChanged)',
      ['group', 'dataset', 'phase'],
    );
    this.warp10Duration = new Histogram({
      name: 'offloader_warp10_request_duration_seconds',
      help: 'Warp 10 WarpScript request latency, by script (for streamed exports: until the reply starts)',
      labelNames: ['script', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers: [r],
    });
    this.warp10Errors = counter(
      'offloader_warp10_request_errors_total',
      'Failed Warp 10 requests, by script and kind (script, connect, timeout, http, aborted)',
      ['script', 'kind'],
    );
    if (opts.processMetrics) collectDefaultMetrics({ register: r, prefix: 'offloader_' });
  }

  /** Text exposition of the offloader's metrics. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** One per worker process: the worker and the metrics endpoint share it. */
let shared: OffloaderMetrics | undefined;
export function processMetrics(): OffloaderMetrics {
  shared ??= new OffloaderMetrics({ processMetrics: true });
  return shared;
}

interface Ref {
  group?: unknown;
  dataset?: unknown;
  phase?: unknown;
}
interface Amounts {
  skipped?: unknown;
  late?: unknown;
  added?: { series?: unknown; points?: unknown; bytes?: unknown };
  series?: unknown;
  points?: unknown;
  bytes?: unknown;
  written?: unknown;
}

interface PageDone {
  dataset?: unknown;
  status?: unknown;
  series?: unknown;
  points?: unknown;
  bytes?: unknown;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** The error type an operator filters on: the ApplicationFailure type, else the error's name. */
export function errorType(err: unknown): string {
  if (err instanceof ApplicationFailure && err.type) return err.type;
  if (err instanceof Error) return err.name || 'Error';
  return 'Error';
}

/** Records every activity: its duration by phase, its failures by type, and the archived amounts. */
export function activityMetrics(m: OffloaderMetrics): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const activity = ctx.info.activityType;
        const phase = PHASE_OF_ACTIVITY[activity] ?? activity;
        const ref = (input.args[0] ?? {}) as Ref;
        const labels = { group: str(ref.group), dataset: str(ref.dataset) };
        const end = m.batchDuration.startTimer({ phase });
        try {
          const result = await next(input);
          end({ outcome: 'ok' });
          const r = (result ?? {}) as Amounts;
          if (activity === 'exportBatch' && r.skipped !== true) m.pointsExported.inc(labels, num(r.points));
          // A delete that found late data deleted nothing.
          const late = Array.isArray(r.late) && r.late.length > 0;
          if (activity === 'deleteBatch' && r.skipped !== true && !late)
            m.pointsDeleted.inc(labels, num(r.points));
          if (activity === 'restoreBatch') {
            m.pointsRestored.inc(labels, num(r.written));
            m.seriesRestored.inc(labels, num(r.series));
            m.bytesRestoreRead.inc(labels, num(r.bytes));
          }
          if (activity === 'archiveLateData') {
            m.pointsExported.inc(labels, num(r.points));
            m.lateData.inc({ ...labels, phase });
          }
          if (activity === 'archivePage') {
            // Small datasets archived in a page: exported, deleted and committed whole, first commit.
            for (const d of (r as { done?: PageDone[] }).done ?? []) {
              if (d.status !== 'archived') continue;
              const l = { group: labels.group, dataset: str(d.dataset) };
              m.pointsExported.inc(l, num(d.points));
              m.pointsDeleted.inc(l, num(d.points));
              m.pointsArchived.inc(l, num(d.points));
              m.seriesArchived.inc(l, num(d.series));
              m.bytesArchived.inc(l, num(d.bytes));
              m.monthsArchived.inc(l);
            }
          }
          if (activity === 'purgeEmptySeries') {
            const p = r as {
              purged?: unknown;
              revived?: unknown;
              attributesChanged?: unknown;
              status?: unknown;
            };
            if (p.status === 'purged') {
              m.seriesPurged.inc({ ...labels, outcome: 'purged' }, num(p.purged));
              m.seriesPurged.inc({ ...labels, outcome: 'revived' }, num(p.revived));
              m.seriesPurged.inc({ ...labels, outcome: 'attributes-changed' }, num(p.attributesChanged));
            }
          }
          if (activity === 'commitMonth') {
            // A month committed again (late data) adds only what it added.
            const added = r.added ?? r;
            m.pointsArchived.inc(labels, num(added.points));
            m.seriesArchived.inc(labels, num(added.series));
            m.bytesArchived.inc(labels, num(added.bytes));
            if (r.added === undefined || num(r.added.points) === num(r.points)) m.monthsArchived.inc(labels);
          }
          return result;
        } catch (err) {
          const type = errorType(err);
          end({ outcome: 'error' });
          // A cancelled attempt is the workflow's decision, not a failure of the activity.
          if (type !== 'CancelledFailure' && type !== 'AbortError') m.failures.inc({ activity, type });
          if (type === 'LiveDataChanged') m.lateData.inc({ ...labels, phase });
          throw err;
        }
      },
    },
  });
}

/** A bundled script name or a custom template path, as a low-cardinality label. */
const scriptLabel = (script: string) => script.replace(/^.*\//, '').replace(/\.mc2$/, '');

function errorKind(err: unknown): string {
  const e = err as { name?: string; kind?: string } | undefined;
  if (e?.name === 'WarpScriptError') return 'script';
  if (typeof e?.kind === 'string') return e.kind;
  if (e?.name === 'Warp10HttpError') return 'http';
  if (e?.name === 'AbortError') return 'aborted';
  return 'other';
}

/** Times every WarpScript request and counts the failed ones. */
export function instrumentRunner(runner: WarpScriptRunner, m: OffloaderMetrics): WarpScriptRunner {
  const timed = async <T>(script: string, call: () => Promise<T>): Promise<T> => {
    const label = scriptLabel(script);
    const end = m.warp10Duration.startTimer({ script: label });
    try {
      const out = await call();
      end({ outcome: 'ok' });
      return out;
    } catch (err) {
      end({ outcome: 'error' });
      m.warp10Errors.inc({ script: label, kind: errorKind(err) });
      throw err;
    }
  };
  const fed = runner as Partial<FeedingRunner>;
  return {
    run: (script, params, signal) => timed(script, () => runner.run(script, params, signal)),
    stream: (script, params, signal) => timed(script, () => runner.stream(script, params, signal)),
    // Late data feeds the archive's lines to Warp 10: keep that ability when the runner has it.
    ...(fed.runFed
      ? {
          runFed: <T>(script: string, params: Params, feed: LineFeed, signal?: AbortSignal) =>
            timed(script, () => fed.runFed!<T>(script, params, feed, signal)),
        }
      : {}),
  } as WarpScriptRunner;
}
