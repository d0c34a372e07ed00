// The catalog's single writer. Every commit asks this workflow (a signal, sent with start) to publish its
// month and waits for the answer, a signal back to its own run: no activity slot is held while it waits,
// so commits waiting by the hundred never starve the publish they wait for. The workflow runs one publish
// at a time, so datasets of one monthly run committing at once never overwrite each other's entries;
// requests waiting meanwhile are published together. Idle for a while, it ends; the next request starts
// it again.
import {
  ApplicationFailure,
  condition,
  continueAsNew,
  defineSignal,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { StoreActivities } from '../activities/store.ts';
import type { MonthRef } from '../archive/layout.ts';
import { STORE_RETRY } from './retry-policies.ts';

/** Who asks: the run to answer (an archive run), or none. */
export interface PublishRequest extends MonthRef {
  requester?: { workflowId: string; runId: string };
}

/** The answer to a request: published, or why not. */
export interface PublishAnswer extends MonthRef {
  error?: string;
}

export const publishRequest = defineSignal<[PublishRequest]>('publishRequest');
export const catalogPublished = defineSignal<[PublishAnswer]>('catalogPublished');

/** Requests published before continuing as new: the history stays small whatever the archive's size. */
export const PUBLISHES_PER_RUN = 500;
const IDLE = '1 minute';

const store = proxyActivities<StoreActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: STORE_RETRY,
});

const isMonthRef = (r: PublishRequest) =>
  typeof r?.group === 'string' && typeof r.dataset === 'string' && /^\d{4}-\d{2}$/.test(String(r.month));

export async function archiveCatalog(carried: PublishRequest[] = []): Promise<void> {
  const queue: PublishRequest[] = [...carried];
  setHandler(publishRequest, (r) => {
    if (isMonthRef(r)) queue.push(r);
  });
  let published = 0;
  for (;;) {
    if (queue.length === 0) {
      if (published >= PUBLISHES_PER_RUN || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof archiveCatalog>([]);
      }
      if (!(await condition(() => queue.length > 0, IDLE))) return;
    }
    const batch = queue.splice(0, queue.length);
    let error: string | undefined;
    try {
      await store.publishCatalog(batch.map(({ group, dataset, month }) => ({ group, dataset, month })));
    } catch (err) {
      error =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    }
    for (const r of batch) {
      if (!r.requester) continue;
      const answer: PublishAnswer = {
        group: r.group,
        dataset: r.dataset,
        month: r.month,
        ...(error ? { error } : {}),
      };
      // A requester gone (terminated, finished) needs no answer.
      await getExternalWorkflowHandle(r.requester.workflowId, r.requester.runId)
        .signal(catalogPublished, answer)
        .catch(() => undefined);
    }
    published += batch.length;
  }
}

/** How long a run waits for the catalog's answer before asking again (the writer may have been lost). */
const CATALOG_ANSWER_WAIT = '15 minutes';

/**
 * Answers to this run's publish requests, gathered by a signal handler; `publish` asks the writer to
 * publish the month and waits for its answer (no activity slot held), asking again if none comes.
 */
export function catalogAnswers(request: (ref: PublishRequest) => Promise<boolean>) {
  const answers: PublishAnswer[] = [];
  setHandler(catalogPublished, (a) => {
    answers.push(a);
  });
  return async function publish(ref: MonthRef): Promise<void> {
    const { workflowId, runId } = workflowInfo();
    for (let ask = 1; ; ask++) {
      const asked = await request({ ...ref, requester: { workflowId, runId } });
      if (!asked) return;
      // Answers are matched to their month: a run may wait for several at once.
      const mine = () =>
        answers.findIndex((a) => a.group === ref.group && a.dataset === ref.dataset && a.month === ref.month);
      if (await condition(() => mine() >= 0, CATALOG_ANSWER_WAIT)) {
        const [answer] = answers.splice(mine(), 1);
        if (answer!.error !== undefined) throw publishFailure(answer!);
        return;
      }
      if (ask === 3) throw publishFailure({ ...ref, error: 'no answer from its writer in 45 minutes' });
    }
  };
}

/** The failure an archive run raises when the catalog could not publish its month. */
export function publishFailure(a: PublishAnswer): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `the catalog could not publish ${a.group}/${a.dataset} ${a.month}: ${a.error}; the month is committed: rerun it, or npm run reindex`,
    'CatalogPublishFailed',
  );
}
