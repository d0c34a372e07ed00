// Turns the errors of Warp 10, the store and the archive checks into Temporal failures whose type says
// whether a retry can help, and whose details carry what the failure report needs.
import { Context, activityInfo } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { StoreError } from '../store/types.ts';
import { Warp10Error, WarpScriptError } from '../warp10/client.ts';
import type { FailureDetails, NonRetryableType } from '../archive/failure-types.ts';

export { NON_RETRYABLE, type FailureDetails } from '../archive/failure-types.ts';

function attempt(): number {
  try {
    return activityInfo().attempt;
  } catch {
    return 1; // outside an activity (unit tests)
  }
}

export function nonRetryable(type: NonRetryableType, message: string, batch?: number): ApplicationFailure {
  const details: FailureDetails = { attempt: attempt(), batch };
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: [details] });
}

/**
 * The cancellation, when the server asked this activity to stop (the run was cancelled): reported as a
 * cancellation, not as a failure to retry. A worker shutdown is not one: its work is retried elsewhere.
 */
function requestedCancellation(): CancelledFailure | undefined {
  try {
    const ctx = Context.current();
    if (!ctx.cancellationSignal.aborted || !ctx.cancellationDetails?.cancelRequested) return undefined;
    const reason: unknown = ctx.cancellationSignal.reason;
    return reason instanceof CancelledFailure ? reason : new CancelledFailure('activity cancelled');
  } catch {
    return undefined; // outside an activity (unit tests)
  }
}

/** Maps an error thrown while working on `batch` to an ApplicationFailure (or returns it unchanged). */
export function toFailure(err: unknown, batch?: number): unknown {
  const cancelled = requestedCancellation();
  if (cancelled) return cancelled;
  if (err instanceof ApplicationFailure) return err;
  const base: FailureDetails = { attempt: attempt(), batch };
  if (err instanceof WarpScriptError) {
    const warp10 = { line: err.line, message: err.warpMessage };
    const type = err.warpMessage.includes('LIVE_DATA_CHANGED')
      ? 'LiveDataChanged'
      : err.warpMessage.includes('AMBIGUOUS_SELECTOR')
        ? 'AmbiguousSelector'
        : err.warpMessage.includes('RESTORE_MISMATCH')
          ? 'RestoreMismatch'
          : 'WarpScriptError';
    const where = batch === undefined ? '' : `batch ${batch}: `;
    return ApplicationFailure.create({
      type,
      message: `${where}${err.message}`,
      nonRetryable: true,
      details: [{ ...base, warp10 }],
    });
  }
  if (err instanceof Warp10Error) {
    return ApplicationFailure.create({
      type: err.retryable ? 'Warp10Unavailable' : err.name,
      message: err.message,
      nonRetryable: !err.retryable,
      details: [base],
    });
  }
  if (err instanceof StoreError) {
    return ApplicationFailure.create({
      type: err.retryable ? 'StoreTransientError' : 'StorePermanentError',
      message: err.message,
      nonRetryable: !err.retryable,
      details: [base],
    });
  }
  return err;
}
