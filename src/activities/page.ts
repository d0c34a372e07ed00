// A page of small datasets archived by one activity of the group run. A dataset whose plan is one
// batch of at most PAGE_MAX_SERIES series goes through the very steps of the archive workflow — plan,
// export, verify, guarded delete, recheck, commit — here, in a row, without a child workflow of its
// own: for a tiny dataset that workflow (about 40 history events, 5 activities, 6 workflow tasks) costs
// ten times its Warp 10 work. Anything else — a bigger plan, late data, any error — is handed back to
// the group, which runs the dataset's archive workflow: it resumes from the state these steps left in
// the store (each step is idempotent) and owns retries, the failure workflow and the alert.
import { Context, cancellationSignal, getClient, heartbeat } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { DatasetEntry } from './offload.ts';
import type { createStoreActivities } from './store.ts';
import type { createWarp10Activities, DatasetMonth } from './warp10.ts';
import { monthManifestKey } from '../archive/layout.ts';
import { MonthManifestSchema } from '../archive/manifest.ts';
import { skipReason } from '../archive/skip-reason.ts';
import { datasetWorkflowId } from '../offload/ids.ts';
import type { ArchiveStore } from '../store/types.ts';
import { askCatalog } from './catalog.ts';
import { readJson } from './store-json.ts';

/** The largest dataset archived in a page: one batch of at most this many series. */
export const PAGE_MAX_SERIES = 100;

export interface PageInput {
  group: string;
  month: string;
  datasets: DatasetEntry[];
  ignoreLateness?: boolean;
}

export interface PageOutcome {
  dataset: string;
  status: 'archived' | 'skipped';
  series: number;
  points: number;
  bytes: number;
  reason?: string;
}

export interface PageResult {
  /** Datasets this activity archived (committed) or found with nothing to do, in input order. */
  done: PageOutcome[];
  /** Datasets for their own archive workflow, with why (in input order). */
  handedOver: { dataset: string; why: string }[];
}

export function createPageActivities(deps: {
  warp10: ReturnType<typeof createWarp10Activities>;
  store: ReturnType<typeof createStoreActivities>;
  archive: ArchiveStore;
}) {
  const { warp10, store, archive } = deps;

  /** One dataset: its outcome, or why its archive workflow must take it. */
  async function one(ref: DatasetMonth, ignoreLateness: boolean): Promise<PageOutcome | string> {
    // An archive workflow of this dataset-month already running (started by hand) owns it.
    try {
      const d = await getClient().workflow.getHandle(datasetWorkflowId(ref)).describe();
      if (d.status.name === 'RUNNING') return 'its archive workflow is running';
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    // The manifest names the group run that committed it, as it names an archive run otherwise.
    const run = Context.current().info.workflowExecution ?? { workflowId: '', runId: '' };
    const { group, dataset, month } = ref;
    // Committed by an earlier attempt of this very page (its worker died): archived by this run.
    const mine = await readJson(archive, monthManifestKey(ref), MonthManifestSchema);
    if (mine && mine.workflowId === run.workflowId && mine.runId === run.runId) {
      await askCatalog(archive, ref);
      return { dataset, status: 'archived', series: mine.series, points: mine.points, bytes: mine.bytes };
    }
    const plan = await warp10.planMonth({ ...ref, ignoreLateness });
    const counts = { series: plan.series, points: plan.points ?? 0, bytes: plan.bytes ?? 0 };
    // Its purge waits for the catalog's answer, which only a workflow can wait for.
    if (plan.purge && (plan.status === 'archived' || plan.status === 'planned')) {
      return 'it purges the metadata of emptied series after the catalog lists the month';
    }
    if (plan.status === 'archived' || plan.status === 'empty') {
      // A month committed by a page whose request to the catalog was lost is listed now.
      if (plan.status === 'archived') await askCatalog(archive, ref);
      return { dataset, status: 'skipped', ...counts, reason: skipReason(ref, plan.status) };
    }
    if (plan.status !== 'planned' || plan.batchCount !== 1 || (plan.firstBatch ?? 1) !== 1) {
      return `its plan has ${plan.batchCount} batches`;
    }
    if (plan.series > PAGE_MAX_SERIES) return `it has ${plan.series} series`;
    const batch = { group, dataset, month, batch: 1 };
    await warp10.exportBatch(batch);
    await warp10.verifyBatch(batch);
    const deleted = await warp10.deleteBatch(batch);
    if (deleted.late.length > 0) return `late data in ${deleted.late.length} series`;
    const recheck = await warp10.recheckMonth({ ...ref, knownBatches: 1, newSeriesOnly: true });
    if (recheck.batchCount > 1) return 'late series found by the recheck';
    const c = await store.commitMonth({ group, dataset, month, ...run });
    // Queries find the month through the catalog; its writer publishes it shortly.
    await askCatalog(archive, ref);
    return { dataset, status: 'archived', series: c.series, points: c.points, bytes: c.bytes };
  }

  return {
    /** Archives the page's small datasets one after another; hands the others back to the group. */
    async archivePage(input: PageInput): Promise<PageResult> {
      const result: PageResult = { done: [], handedOver: [] };
      for (const ds of input.datasets) {
        const ref: DatasetMonth = {
          group: input.group,
          dataset: ds.name,
          month: input.month,
          ...(ds.selector ? { selector: ds.selector, seriesPerBatch: ds.seriesPerBatch } : {}),
        };
        try {
          const r = await one(ref, input.ignoreLateness === true);
          if (typeof r === 'string') result.handedOver.push({ dataset: ds.name, why: r });
          else result.done.push(r);
        } catch (err) {
          if (cancellationSignal().aborted) throw err;
          // Its workflow retries the step (or fails it, alerts and compensates) from where it stopped.
          result.handedOver.push({ dataset: ds.name, why: (err as Error).message ?? String(err) });
        }
        heartbeat({ done: result.done.length, handedOver: result.handedOver.length });
      }
      return result;
    },
  };
}

export type PageActivities = ReturnType<typeof createPageActivities>;
