// Activities that talk to Warp 10: plan a dataset-month, export a batch into the store, verify it against
// the live data, the guarded delete, late data and the recheck. Every step is idempotent through the
// state kept in the store, so a retry or a rerun after a crash resumes instead of redoing. Each phase is
// a module of warp10/; this entry point is the one the worker and the workflows import.
import { keepAlive } from './keep-alive.ts';
import { deleteBatch, type DeleteResult } from './warp10/delete.ts';
import { eraseHot, type EraseHotResult } from './warp10/erase-hot.ts';
import { exportBatch } from './warp10/export.ts';
import { archiveLateData, type LateResult } from './warp10/late.ts';
import { planMonth, type PlanInput, type PlanResult } from './warp10/plan.ts';
import { purgeEmptySeries, type PurgeResult } from './warp10/purge.ts';
import { recheckMonth, type RecheckInput, type RecheckResult } from './warp10/recheck.ts';
import type { BatchRef, BatchResult, DatasetMonth, Warp10ActivityDeps } from './warp10/shared.ts';
import { verifyBatch } from './warp10/verify.ts';

export type {
  DeleteResult,
  EraseHotResult,
  LateResult,
  PlanInput,
  PlanResult,
  PurgeResult,
  RecheckInput,
  RecheckResult,
};
export type { BatchRef, BatchResult, DatasetMonth, Warp10ActivityDeps } from './warp10/shared.ts';

/**
 * The activities, in the order a dataset-month goes through them. Each phase is a function of its
 * module in warp10/ taking its dependencies; keepAlive heartbeats while Warp 10 works on a long request.
 */
export function createWarp10Activities(deps: Warp10ActivityDeps) {
  return {
    async planMonth(input: PlanInput): Promise<PlanResult> {
      return keepAlive(() => planMonth(deps, input));
    },
    async exportBatch(input: BatchRef): Promise<BatchResult> {
      return keepAlive(
        () => exportBatch(deps, input),
        () => ({ batch: input.batch }),
      );
    },
    async verifyBatch(input: BatchRef): Promise<BatchResult> {
      return keepAlive(
        () => verifyBatch(deps, input),
        () => ({ batch: input.batch }),
      );
    },
    async deleteBatch(input: BatchRef): Promise<DeleteResult> {
      return keepAlive(
        () => deleteBatch(deps, input),
        () => ({ batch: input.batch }),
      );
    },
    async recheckMonth(input: RecheckInput): Promise<RecheckResult> {
      return keepAlive(() => recheckMonth(deps, input));
    },
    /** After the commit: the month's series left with no point lose their metadata in Warp 10. */
    async purgeEmptySeries(input: DatasetMonth): Promise<PurgeResult> {
      return keepAlive(() => purgeEmptySeries(deps, input));
    },
    async archiveLateData(input: BatchRef & { series: string[] }): Promise<LateResult> {
      return keepAlive(
        () => archiveLateData(deps, input),
        () => ({ batch: input.batch }),
      );
    },
    /** An erasure with --hot: the series deleted from the hot Warp 10, data and metadata. */
    async eraseHot(input: { selector: string; dryRun: boolean }): Promise<EraseHotResult> {
      return keepAlive(() => eraseHot(deps, input));
    },
  };
}

export type Warp10Activities = ReturnType<typeof createWarp10Activities>;
