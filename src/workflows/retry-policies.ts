// Retry policies shared by several workflows' activity proxies, named once so they cannot drift apart.
import type { RetryPolicy } from '@temporalio/common';
import { NON_RETRYABLE } from '../archive/failure-types.ts';

/**
 * Requests to Warp 10: an outage (5xx, refused connection, timeout) is retried with backoff for about an
 * hour before the run fails and alerts; script errors and data mismatches fail at once.
 */
export const WARP10_OUTAGE_RETRY: RetryPolicy = {
  initialInterval: '2 seconds',
  backoffCoefficient: 2,
  maximumInterval: '2 minutes',
  maximumAttempts: 40,
  nonRetryableErrorTypes: [...NON_RETRYABLE],
};

/**
 * Slack messages: retried with backoff for about half an hour; a bad token or channel
 * (SlackConfigError) fails the notification alone, and the worker logs it.
 */
export const SLACK_RETRY: RetryPolicy = {
  initialInterval: '2 seconds',
  backoffCoefficient: 2,
  maximumInterval: '2 minutes',
  maximumAttempts: 15,
  nonRetryableErrorTypes: ['SlackConfigError'],
};

/**
 * The archive store (commit, compensation, the catalog): retried with backoff for about fifteen minutes;
 * a damaged archive document fails at once.
 */
export const STORE_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 20,
  nonRetryableErrorTypes: [...NON_RETRYABLE],
};
