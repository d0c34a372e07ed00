// What the three Slack transports (Web API, incoming webhook, worker log) share: the one Notifier
// interface, the context createNotifier hands each of them, and the shaping of errors for Temporal:
//   - rate limits (429) are waited out in-process, honouring Retry-After, a bounded number of times;
//   - 5xx / network errors throw a plain Error at once, so the activity retry policy (durable, visible in the
//     Web UI, with backoff) is the only retry layer for them instead of multiplying with the client's;
//   - errors a retry cannot fix throw ApplicationFailure.nonRetryable(…, 'SlackConfigError').
import { ApplicationFailure } from '@temporalio/common';
import type { SlackMessage } from './message.ts';

export const SLACK_CONFIG_ERROR = 'SlackConfigError';
export const SLACK_RATE_LIMITED = 'SlackRateLimited';

export type ChannelKind = 'failure' | 'success';
export type Transport = 'web-api' | 'webhook' | 'log';
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';
export type LogFn = (level: LogLevelName, msg: string, attrs?: Record<string, unknown>) => void;

export interface PostResult {
  delivered: boolean;
  transport: Transport;
  ts?: string;
}

export interface CheckResult {
  transport: Transport;
  team?: string;
  user?: string;
  botId?: string;
}

export interface Notifier {
  readonly transport: Transport;
  post(channelKind: ChannelKind, msg: SlackMessage): Promise<PostResult>;
  /** Start-up validation: `auth.test` for the Web API. Throws SlackConfigError on a bad token. */
  check(): Promise<CheckResult>;
}

/** What every transport gets from createNotifier. */
export interface TransportContext {
  /** The worker's log, with every secret scrubbed from messages and attributes. */
  log: LogFn;
  /** Every secret value, the token and webhook URL included. */
  secrets: readonly string[];
  scrub(s: string): string;
  /** How many times one post waits out a 429 before giving up to the activity retry policy. */
  rateLimitRetries: number;
  /** Longest Retry-After waited in-process; longer ones go back to Temporal with that delay. */
  maxRetryAfterSec: number;
  /** Per HTTP request. */
  timeoutMs: number;
}

/** Keeps the alert in the worker log when Slack refuses it for good. */
export function logUndelivered(ctx: TransportContext, kind: ChannelKind, msg: SlackMessage, reason: string) {
  ctx.log('error', `Slack ${kind} message not delivered (${reason}): ${msg.text}`, { channelKind: kind });
}

const HINTS: Record<string, string> = {
  invalid_auth: 'the bot token is invalid; check the configured Slack token',
  not_authed: 'no token reached Slack; check the configured Slack token',
  account_inactive: 'the bot user or workspace is deactivated',
  token_revoked: 'the token was revoked; issue a new one',
  token_expired: 'the token expired; issue a new one',
  missing_scope: 'the app lacks the chat:write scope',
  not_allowed_token_type: 'use a bot token (xoxb-…)',
  channel_not_found: 'check the channel ID, or invite the bot to the private channel',
  not_in_channel: 'invite the bot to the channel (/invite @bot)',
  is_archived: 'the channel is archived; unarchive it or configure another one',
  msg_too_long: 'the message exceeds Slack limits (message builder bug)',
  invalid_blocks: 'Slack rejected the blocks (message builder bug)',
  invalid_blocks_format: 'Slack rejected the blocks (message builder bug)',
  no_text: 'the message is empty (message builder bug)',
  restricted_action: 'workspace settings forbid the bot to post in this channel',
  // Incoming webhook answers.
  invalid_token: 'the webhook was revoked or is wrong; check the configured webhook URL',
  no_service: 'the webhook is disabled, removed or wrong; check the configured webhook URL',
  no_team: 'the workspace behind the webhook is gone; check the configured webhook URL',
  team_disabled: 'the workspace is disabled',
  channel_is_archived: "the webhook's channel is archived",
  action_prohibited: 'an admin restricted posting to this channel',
  posting_to_general_channel_denied: 'posting to #general is restricted',
  invalid_payload: 'Slack could not parse the payload (message builder bug)',
};

export function hint(code: string): string {
  const h = HINTS[code];
  return h ? ` — ${h}` : '';
}

/** A short, secret-free description of a network failure (fetch / undici errors nest the useful code). */
export function describeNetworkError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown } | null;
  if (
    e?.name === 'TimeoutError' ||
    e?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e?.code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return `timed out after ${timeoutMs} ms`;
  }
  const cause = e?.cause as { code?: unknown; message?: unknown } | undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof e?.code === 'string') return e.code;
  const m =
    typeof cause?.message === 'string' ? cause.message : typeof e?.message === 'string' ? e.message : '';
  return m.slice(0, 200) || 'network error';
}

export function configError(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, SLACK_CONFIG_ERROR);
}

export function rateLimitedFailure(message: string, retryAfterSec: number): ApplicationFailure {
  // Slack said when to come back: tell Temporal, rather than letting its backoff guess.
  return ApplicationFailure.create({
    message,
    type: SLACK_RATE_LIMITED,
    nonRetryable: false,
    nextRetryDelay: `${Math.max(1, retryAfterSec)}s`,
  });
}
