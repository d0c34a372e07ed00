// Asks the catalog's single writer (src/workflows/catalog.ts) to publish a committed month: a signal sent
// with start, answered by a signal to the requesting run. Returns at once; whether it asked, since a month
// the catalog already lists at its commit has nothing to publish.
import { activityInfo, getClient } from '@temporalio/activity';
import { isListed } from '../archive/catalog-store.ts';
import type { MonthRef } from '../archive/layout.ts';
import type { ArchiveStore } from '../store/types.ts';

/** One writer per task queue: the workers of a task queue share one archive store. */
export const catalogWorkflowId = (taskQueue: string) => `archive-catalog/${taskQueue}`;

/**
 * Signals the writer (started if needed) to publish the month; false when the catalog already lists its
 * commit. Without a requester nobody waits for the answer (a page of small datasets: the next run of the
 * month asks again if the catalog still does not list it).
 */
export async function askCatalog(
  store: ArchiveStore,
  input: MonthRef & { requester?: { workflowId: string; runId: string } },
): Promise<boolean> {
  const ref = { group: input.group, dataset: input.dataset, month: input.month };
  if (await isListed(store, ref)) return false;
  const taskQueue = activityInfo().taskQueue;
  await getClient().workflow.signalWithStart('archiveCatalog', {
    workflowId: catalogWorkflowId(taskQueue),
    taskQueue,
    args: [[]],
    signal: 'publishRequest',
    signalArgs: [{ ...ref, ...(input.requester ? { requester: input.requester } : {}) }],
    staticSummary: 'The archive catalog: publishes committed months, one at a time',
  });
  return true;
}

export function createCatalogActivities(deps: { store: ArchiveStore }) {
  return {
    async requestPublish(
      input: MonthRef & { requester?: { workflowId: string; runId: string } },
    ): Promise<boolean> {
      return askCatalog(deps.store, input);
    },
  };
}

export type CatalogActivities = ReturnType<typeof createCatalogActivities>;
