// The catalog's single writer. Every commit asks this workflow (an Update, sent with start) to publish its
// month; the workflow runs one publish at a time, so datasets of one monthly run committing at once never
// overwrite each other's entries. Waiting requests are published together. Idle for a while, it ends;
// the next request starts it again.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineUpdate,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { StoreActivities } from '../activities/store.ts';
import type { MonthRef } from '../archive/layout.ts';
import { NON_RETRYABLE } from '../archive/failure-types.ts';

export const publishMonth = defineUpdate<void, [MonthRef]>('publishMonth');

/** Requests published before continuing as new: the history stays small whatever the archive's size. */
export const PUBLISHES_PER_RUN = 500;
const IDLE = '1 minute';

const store = proxyActivities<StoreActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [...NON_RETRYABLE],
  },
});

interface Request {
  ref: MonthRef;
  done: boolean;
  error?: string;
}

export async function archiveCatalog(): Promise<void> {
  const queue: Request[] = [];
  setHandler(
    publishMonth,
    async (ref) => {
      const request: Request = { ref, done: false };
      queue.push(request);
      await condition(() => request.done);
      if (request.error !== undefined) {
        throw ApplicationFailure.nonRetryable(request.error, 'CatalogPublishFailed');
      }
    },
    {
      validator: (ref) => {
        if (
          !ref ||
          typeof ref.group !== 'string' ||
          typeof ref.dataset !== 'string' ||
          !/^\d{4}-\d{2}$/.test(ref.month)
        ) {
          throw new Error('publishMonth takes { group, dataset, month: YYYY-MM }');
        }
      },
    },
  );
  let published = 0;
  for (;;) {
    if (queue.length === 0) {
      // Ends (or continues as new) only between publishes, with every accepted request answered.
      if (published >= PUBLISHES_PER_RUN || workflowInfo().continueAsNewSuggested) {
        await condition(() => allHandlersFinished() || queue.length > 0);
        if (queue.length === 0) await continueAsNew<typeof archiveCatalog>();
        continue;
      }
      if (!(await condition(() => queue.length > 0, IDLE))) {
        await condition(() => allHandlersFinished() || queue.length > 0);
        if (queue.length === 0) return;
      }
      continue;
    }
    const batch = queue.splice(0, queue.length);
    try {
      await store.publishCatalog(batch.map((r) => r.ref));
    } catch (err) {
      const message =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      for (const r of batch) r.error = message;
    }
    for (const r of batch) r.done = true;
    published += batch.length;
  }
}
