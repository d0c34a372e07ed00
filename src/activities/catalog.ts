// Asks the catalog's single writer (src/workflows/catalog.ts) to publish a committed month, starting it if
// it is not running, and returns once the catalog names the month (or says why it could not).
import { activityInfo, getClient, sleep } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { isListed } from '../archive/catalog-store.ts';
import type { MonthRef } from '../archive/layout.ts';
import type { ArchiveStore } from '../store/types.ts';
import { keepAlive } from './keep-alive.ts';

/** One writer per task queue: the workers of a task queue share one archive store. */
export const catalogWorkflowId = (taskQueue: string) => `archive-catalog/${taskQueue}`;

export function createCatalogActivities(deps: { store: ArchiveStore }) {
  return {
    /** Returns whether it published: a month the catalog lists at its current commit is left as it is. */
    async publishToCatalog(ref: MonthRef): Promise<boolean> {
      if (await isListed(deps.store, ref)) return false;
      const taskQueue = activityInfo().taskQueue;
      const start = () =>
        new WithStartWorkflowOperation('archiveCatalog', {
          workflowId: catalogWorkflowId(taskQueue),
          taskQueue,
          args: [],
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: 'The archive catalog: publishes committed months, one at a time',
        });
      try {
        await keepAlive(async () => {
          for (;;) {
            try {
              return await getClient().workflow.executeUpdateWithStart('publishMonth', {
                args: [{ group: ref.group, dataset: ref.dataset, month: ref.month }],
                startWorkflowOperation: start(),
              });
            } catch (err) {
              // The server holds a few updates in flight per workflow (history.maxInFlightUpdates, 10):
              // the commits of a big monthly run wait their turn.
              if (!isResourceExhausted(err)) throw err;
              await sleep(250 + Math.random() * 1_750);
            }
          }
        });
      } catch (err) {
        // The writer tried and the store refused (a damaged catalog): retrying here would not help.
        if (err instanceof WorkflowUpdateFailedError) {
          const cause = err.cause instanceof Error ? err.cause.message : err.message;
          throw ApplicationFailure.nonRetryable(
            `the catalog could not publish ${ref.group}/${ref.dataset} ${ref.month}: ${cause}`,
            'CatalogPublishFailed',
          );
        }
        throw err;
      }
      return true;
    },
  };
}

/** gRPC RESOURCE_EXHAUSTED (8), as the client reports it. */
function isResourceExhausted(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === 8) return true;
  }
  return false;
}

export type CatalogActivities = ReturnType<typeof createCatalogActivities>;
