// Turns the errors of Warp 10, the store and the archive checks into Temporal failures whose type says
// whether a retry can help, and whose details carry what the failure report needs.
import { Context, activityInfo } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { StoreError } from '../store/types.ts';
import { Warp10Error, WarpScriptError } from '../warp10/client.ts';
import { guardUnits, timeUnitsProblem } from '../warp10/time-units.ts';
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

/**
 * What to do when Warp 10 refuses a token (unknown, malformed, expired or revoked): retrying cannot help,
 * and the operator needs to know which secret to replace. FIND and FETCH read, the rest write.
 */
function tokenRefusal(
  warpMessage: string,
): { type: 'Warp10TokenRefused' | 'Warp10DeleteRefused'; fix: string } | undefined {
  // WarpScript's DELETE hides the delete endpoint's answer ("Server Error"): an invalid or expired write
  // token looks exactly like this, and so does a delete endpoint that is switched off.
  if (/DELETE failed to complete (?:dryrun )?request successfully/.test(warpMessage)) {
    return {
      type: 'Warp10DeleteRefused',
      fix:
        'Warp 10 refused the delete, and nothing was deleted: the write token (warp10.writeToken) is invalid or ' +
        'expired, or the delete endpoint is off (warpscript.delete.endpoint, standalone.delete.disable = false). ' +
        'Fix that, restart the worker, then resume the run',
    };
  }
  const m = /\b([A-Z]+) given an invalid (?:read |write )?token|token (?:has )?expired|expired token/i.exec(
    warpMessage,
  );
  if (!m) return undefined;
  const fn = m[1]?.toUpperCase();
  const which =
    fn === 'FIND' || fn === 'FETCH'
      ? 'the read token (warp10.readToken)'
      : fn
        ? 'the write token (warp10.writeToken)'
        : 'a token of warp10';
  return {
    type: 'Warp10TokenRefused',
    fix:
      `Warp 10 refused ${which}: ${/expired/i.test(warpMessage) ? 'it has expired' : 'it is invalid or expired'}. ` +
      `Put a valid token in the secret it references ` +
      `(the environment variable or file named in the config), restart the worker, then resume the run`,
  };
}

/**
 * The guarded delete's refusal (archive-delete*.mc2, WRITE_TOKEN_REACH): the write token's DELETE would
 * remove series the read token does not list, which the guard never read nor archived.
 */
function tokenReach(warpMessage: string): string | undefined {
  const m = /WRITE_TOKEN_REACH (\d+) /.exec(warpMessage);
  if (!m) return undefined;
  const where = /WRITE_TOKEN_REACH \d+ (.+?) under (.+?)\)*\s*$/.exec(warpMessage);
  const n = Number(m[1]);
  return (
    `the write token (warp10.writeToken) would delete ${n} series${where ? ` under ${where[2]}` : ''} that the ` +
    `read token (warp10.readToken) does not read${where ? ` (e.g. ${where[1]})` : ''}: the guarded delete ` +
    'deletes only what it read and archived, so nothing was deleted. Narrow the write token (its owner and ' +
    'application must reach only series the read token reads) or widen the read token to every series the ' +
    'write token reaches (its owners, producers, applications, labels), restart the worker, then resume the run'
  );
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
    // The time-units guard in front of every script (src/warp10/time-units.ts): nothing of it ran.
    const units = guardUnits(err.warpMessage);
    if (units !== undefined) {
      return ApplicationFailure.create({
        type: 'Warp10TimeUnits',
        message: `${where}${timeUnitsProblem(units)}`,
        nonRetryable: true,
        details: [{ ...base, warp10 }],
      });
    }
    const reach = tokenReach(err.warpMessage);
    if (reach) {
      return ApplicationFailure.create({
        type: 'Warp10TokenReach',
        message: `${where}${reach}`,
        nonRetryable: true,
        details: [{ ...base, warp10 }],
      });
    }
    const refused = tokenRefusal(err.warpMessage);
    if (refused) {
      return ApplicationFailure.create({
        type: refused.type,
        message: `${where}${err.message}. ${refused.fix}`,
        nonRetryable: true,
        details: [{ ...base, warp10 }],
      });
    }
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
