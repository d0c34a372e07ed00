// The frozen plan in the store, paged: a dataset of 200,000 series must not make every batch's activity
// read and parse one document listing them all.
import { planKey, planPageKey, type MonthRef } from '../archive/layout.ts';
import { PlanPageSchema, PlanSchema, type Plan, type PlanBatch } from '../archive/manifest.ts';
import type { ArchiveStore } from '../store/types.ts';
import { nonRetryable } from './failures.ts';
import { refuseWhileErasing } from './warp10/shared.ts';
import { readJson, writeJson } from './store-json.ts';

/** Batches per plan document: a page stays around a megabyte at 500 series a batch. */
export const BATCHES_PER_PAGE = 100;

export type PlanHead = Plan & { batchCount: number; series: number; batchesPerPage: number };

/**
 * Writes the pages first and plan.json last: its presence means the whole plan is there. Gzip JSON, as
 * batch manifests: a list of selectors is otherwise a sizeable share of a month's data.
 */
export async function writePlan(
  store: ArchiveStore,
  ref: MonthRef,
  head: Omit<Plan, 'batches' | 'batchCount' | 'series' | 'batchesPerPage'>,
  batches: PlanBatch[],
): Promise<PlanHead> {
  for (let first = BATCHES_PER_PAGE; first < batches.length; first += BATCHES_PER_PAGE) {
    const page = first / BATCHES_PER_PAGE + 1;
    await writeJson(
      store,
      planPageKey(ref, page),
      {
        format: 'warp10-offloader/plan-page@1',
        page,
        first: first + 1,
        batches: batches.slice(first, first + BATCHES_PER_PAGE),
      },
      { gzip: true },
    );
  }
  const plan: PlanHead = {
    ...head,
    batches: batches.slice(0, BATCHES_PER_PAGE),
    batchCount: batches.length,
    series: batches.reduce((n, b) => n + batchSize(b), 0),
    batchesPerPage: BATCHES_PER_PAGE,
  };
  await writeJson(store, planKey(ref), plan, { gzip: true });
  return plan;
}

/** plan.json, with the counts filled in for plans written before paging. */
export async function readPlanHead(store: ArchiveStore, ref: MonthRef): Promise<PlanHead | undefined> {
  const plan = await readJson(store, planKey(ref), PlanSchema);
  if (!plan) return undefined;
  return {
    ...plan,
    batchCount: plan.batchCount ?? plan.batches.length,
    series: plan.series ?? plan.batches.reduce((n, b) => n + batchSize(b), 0),
    batchesPerPage: plan.batchesPerPage ?? Math.max(1, plan.batches.length),
  };
}

export async function requirePlanHead(store: ArchiveStore, ref: MonthRef): Promise<PlanHead> {
  const plan = await readPlanHead(store, ref);
  if (!plan) throw nonRetryable('PlanMissing', `no plan at ${planKey(ref)}: run the plan phase first`);
  return plan;
}

/** Series of a plan batch: its selectors, or those a partition listed at plan time. */
export const batchSize = (b: PlanBatch) => (Array.isArray(b) ? b.length : b.series);

/** Batch `batch` (1-based): its series' selectors, or a partition. */
export async function readPlanBatch(
  store: ArchiveStore,
  plan: PlanHead,
  ref: MonthRef,
  batch: number,
): Promise<PlanBatch> {
  const missing = () => nonRetryable('PlanMissing', `the plan has no batch ${batch}`, batch);
  if (batch < 1 || batch > plan.batchCount) throw missing();
  if (batch <= plan.batches.length) return plan.batches[batch - 1]!;
  const page = Math.floor((batch - 1) / plan.batchesPerPage) + 1;
  const doc = await readJson(store, planPageKey(ref, page), PlanPageSchema);
  const selectors = doc?.batches[batch - doc.first];
  if (!selectors) throw missing();
  return selectors;
}

/**
 * Adds batches after the plan's last one (late series of the month): pages first, plan.json last, so a
 * crash leaves either the old plan or the new one.
 */
export async function appendBatches(
  store: ArchiveStore,
  ref: MonthRef,
  plan: PlanHead,
  added: string[][],
  nested: boolean,
): Promise<PlanHead> {
  // An erasure rewriting the month's plan: this recheck's addition waits for it (and reads it again).
  await refuseWhileErasing(store, ref);
  const all: PlanBatch[] = [];
  for (let b = 1; b <= plan.batchCount; b++) all.push(await readPlanBatch(store, plan, ref, b));
  const { batches: _b, batchCount: _c, series: _s, batchesPerPage: _p, ...head } = plan;
  return writePlan(store, ref, { ...head, nested: Boolean(plan.nested) || nested }, [...all, ...added]);
}
