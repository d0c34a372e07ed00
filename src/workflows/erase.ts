// The erasure of a customer's series from the archive (npm run erase), as the business process reads:
// check the selector and find the committed months in the range; month by month, rewrite what holds the
// series and commit the month again, have the catalog publish it, then remove what the rewrite replaced;
// with --hot, delete the series from the hot Warp 10 too; keep a record. A failure alerts as an archive's
// does; a rerun carries on where the store says the last one stopped (src/activities/erase.ts).
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { CatalogActivities } from '../activities/catalog.ts';
import type { EraseActivities, EraseMonthResult, EraseRequest, EraseScope } from '../activities/erase.ts';
import type { SlackActivities } from '../activities/slack.ts';
import type { Warp10Activities } from '../activities/warp10.ts';
import type { MonthRef } from '../archive/layout.ts';
import { workflowUiUrl } from '../ui-url.ts';
import { catalogAnswers } from './catalog.ts';
import { SLACK_RETRY, STORE_RETRY, WARP10_OUTAGE_RETRY } from './retry-policies.ts';

export type ErasePhase = 'scope' | 'months' | 'hot' | 'record' | 'done' | 'failed';

export interface EraseProgress {
  phase: ErasePhase;
  months: number;
  done: number;
  /** The month being erased: group/dataset YYYY-MM. */
  current?: string;
  series: number;
  points: number;
  objects: number;
}

export interface EraseResult {
  status: 'erased' | 'dry-run';
  /** The erasure record (erasures/<id>.json); absent in a dry run. */
  record?: string;
  months: EraseMonthResult[];
  uncommitted: MonthRef[];
  series: number;
  points: number;
  objects: number;
  /** With --hot: the series the hot Warp 10 deleted (or would delete, in a dry run). */
  hotSeries?: number;
}

export const eraseProgress = defineQuery<EraseProgress>('eraseProgress');

/** Months erased at once. */
const MONTHS_AT_ONCE = 4;

// A month's rewrite reads and writes every object holding the series: heartbeats tell it from a dead worker.
const eraseActivities = proxyActivities<EraseActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { ...WARP10_OUTAGE_RETRY, nonRetryableErrorTypes: [...(STORE_RETRY.nonRetryableErrorTypes ?? [])] },
});
const catalog = proxyActivities<CatalogActivities>({ startToCloseTimeout: '1 minute', retry: STORE_RETRY });
const hot = proxyActivities<Pick<Warp10Activities, 'eraseHot'>>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: WARP10_OUTAGE_RETRY,
});
const slack = proxyActivities<SlackActivities>({ startToCloseTimeout: '1 minute', retry: SLACK_RETRY });
const settings = proxyActivities<{ notifySettings(): Promise<{ uiUrl: string; namespace: string }> }>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

export async function erase(input: EraseRequest): Promise<EraseResult> {
  const dryRun = input.dryRun === true;
  const progress: EraseProgress = { phase: 'scope', months: 0, done: 0, series: 0, points: 0, objects: 0 };
  setHandler(eraseProgress, () => progress);
  const shown = () =>
    setCurrentDetails(
      `${dryRun ? 'dry run: ' : ''}${progress.phase} — ${progress.done}/${progress.months} month(s)` +
        `${progress.current ? `, at ${progress.current}` : ''}; ${progress.series} series, ` +
        `${progress.points} points, ${progress.objects} object(s) rewritten`,
    );
  const enter = (phase: ErasePhase) => {
    progress.phase = phase;
    shown();
  };
  const publish = catalogAnswers((r) =>
    catalog.requestPublish.executeWithOptions(
      { summary: `publish ${r.group}/${r.dataset} ${r.month} (erased) to the catalog` },
      [r],
    ),
  );
  const months: EraseMonthResult[] = [];
  const results = new Map<string, EraseMonthResult>();
  let current: MonthRef | undefined;
  try {
    enter('scope');
    const scope: EraseScope = await eraseActivities.eraseScope(input);
    progress.months = scope.months.length;
    // The hot Warp 10 first: an archive run of a month meanwhile finds no point of the series to archive again.
    let hotSeries: number | undefined;
    if (input.hot) {
      enter('hot');
      hotSeries = (await hot.eraseHot({ selector: input.selector, dryRun })).series;
    }
    enter('months');
    // The erasure's ID: its first run, the same in every run after a failure (the marks it leaves say it).
    const id = workflowInfo().firstExecutionRunId;
    // A few months at once: each one's waits (its journal's grace, the catalog) overlap the others' work.
    const queue = [...scope.months];
    const lane = async () => {
      for (let m = queue.shift(); m; m = queue.shift()) {
        current = m;
        const where = `${m.group}/${m.dataset} ${m.month}`;
        progress.current = where;
        shown();
        const r = await eraseActivities.eraseMonth.executeWithOptions(
          { summary: `${dryRun ? 'would erase' : 'erase'} the series from ${where}` },
          [{ ...m, selector: input.selector, dryRun, id }],
        );
        if (r.status === 'erased') {
          // ARCHIVE.FETCH reads the month's new revision once the catalog lists it; then the old objects go.
          await publish(m);
          await eraseActivities.finishMonthErasure(m);
        }
        results.set(where, r);
        progress.done++;
        progress.series += r.series;
        progress.points += r.points;
        progress.objects += r.objects;
        shown();
      }
    };
    await Promise.all(Array.from({ length: Math.min(MONTHS_AT_ONCE, scope.months.length) }, lane));
    months.push(...scope.months.map((m) => results.get(`${m.group}/${m.dataset} ${m.month}`)!));
    current = undefined;
    progress.current = undefined;
    const notErased = [...scope.uncommitted, ...months.filter((m) => m.status === 'not committed')].map(
      ({ group, dataset, month }) => ({ group, dataset, month }),
    );
    const result: EraseResult = {
      status: dryRun ? 'dry-run' : 'erased',
      months,
      uncommitted: notErased,
      series: progress.series,
      points: progress.points,
      objects: progress.objects,
      ...(hotSeries === undefined ? {} : { hotSeries }),
    };
    if (!dryRun) {
      enter('record');
      const info = workflowInfo();
      result.record = await eraseActivities.recordErasure({
        id: info.firstExecutionRunId,
        erasedAt: new Date(Date.now()).toISOString(),
        selector: input.selector,
        ...(input.from ? { from: input.from } : {}),
        ...(input.to ? { to: input.to } : {}),
        hot: input.hot === true,
        months: months
          .filter((m) => m.status === 'erased')
          .map(({ group, dataset, month, series, points, objects }) => ({
            group,
            dataset,
            month,
            series,
            points,
            objects,
          })),
        ...(hotSeries === undefined ? {} : { hotSeries }),
        ...(notErased.length > 0 ? { notErased } : {}),
      });
    }
    enter('done');
    return result;
  } catch (err) {
    if (isCancellation(err)) throw err;
    const failedIn = progress.phase;
    enter('failed');
    await notifyFailure(input.selector, current, failedIn, progress, err);
    throw err;
  }
}

/** The team hears of a failed erasure as of a failed archive: never with the selector (it names a customer). */
async function notifyFailure(
  selector: string,
  month: MonthRef | undefined,
  phase: ErasePhase,
  progress: EraseProgress,
  err: unknown,
) {
  const info = workflowInfo();
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const app = cause instanceof ApplicationFailure ? cause : undefined;
  const details = app?.details?.[0] as { attempt?: number } | undefined;
  try {
    const { uiUrl, namespace } = await settings.notifySettings();
    await slack.notifyFailure({
      operation: 'erase',
      month: month?.month ?? '-',
      group: month?.group ?? '-',
      dataset: month?.dataset ?? '-',
      phase: `erase-${phase}`,
      error: {
        type: app?.type ?? (cause as Error | undefined)?.name ?? 'Error',
        message: ((cause as Error | undefined)?.message ?? String(cause))
          .split(selector)
          .join('(the selector)'),
      },
      attempts: details?.attempt ?? 1,
      workflowId: info.workflowId,
      runId: info.runId,
      uiUrl: workflowUiUrl(uiUrl, namespace, info.workflowId, info.runId),
      resumeCommand:
        "npm run erase -- --selector '<the same selector>' --wait (the run's input in the Web UI holds it)",
      compensation:
        `${progress.done} of ${progress.months} month(s) erased before the failure; the month at fault keeps ` +
        'its erase.json, and a run again carries on from it',
    });
  } catch {
    // The failure is in this workflow's history; the worker logged why Slack refused.
  }
}
