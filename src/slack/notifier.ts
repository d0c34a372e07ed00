// Delivers Slack messages through the Web API (bot token), an incoming webhook, or — when Slack is not
// configured — the worker log. Errors are shaped for Temporal activities:
//   - rate limits (429) are waited out here, honouring Retry-After, a bounded number of times;
//   - 5xx / network errors throw a plain Error at once, so the activity retry policy (durable, visible in the
//     Web UI, with backoff) is the only retry layer for them instead of multiplying with the client's;
//   - errors a retry cannot fix throw ApplicationFailure.nonRetryable(…, 'SlackConfigError').
// The token and the webhook URL never appear in an error, a log line or a posted message.
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, LogLevel, WebClient, WebClientEvent } from '@slack/web-api';
import type { Logger, RetryOptions } from '@slack/web-api';
import { ApplicationFailure } from '@temporalio/common';
import { request } from 'undici';
import { redact, redactString } from '../config/redact.ts';
import type { SlackMessage } from './message.ts';

export const SLACK_CONFIG_ERROR = 'SlackConfigError';
export const SLACK_RATE_LIMITED = 'SlackRateLimited';

export type ChannelKind = 'failure' | 'success';
export type Transport = 'web-api' | 'webhook' | 'log';
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';
export type LogFn = (level: LogLevelName, msg: string, attrs?: Record<string, unknown>) => void;

export interface NotifierOptions {
  /** Bot token (xoxb-…): selects the Web API transport. */
  token?: string;
  /** Web API base URL; tests point it at a local fake. Default https://slack.com/api/. */
  apiUrl?: string;
  /** Incoming webhook URL: used when no token is given. It is a secret. */
  webhookUrl?: string;
  /** Channel IDs or names for the Web API; `success` defaults to `failure`. */
  channels?: { failure?: string; success?: string };
  log: LogFn;
  /** More strings to scrub from everything we send or throw (the token and webhook URL are always added). */
  secrets?: string[];
  /** How many times one post waits out a 429 before giving up to the activity retry policy. Default 3. */
  rateLimitRetries?: number;
  /** Longest Retry-After we wait in-process; longer ones go back to Temporal with that delay. Default 30. */
  maxRetryAfterSec?: number;
  /** Per HTTP request timeout. Default 10 000 ms. */
  timeoutMs?: number;
}

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

// Slack platform errors (HTTP 200, ok:false) that are transient. Any other platform error is a deterministic
// answer to this request: sending it again gives the same answer, so it is not retried.
const TRANSIENT_PLATFORM_ERRORS = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'ratelimited',
  'rate_limited',
  'team_added_to_org',
]);

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

function hint(code: string): string {
  const h = HINTS[code];
  return h ? ` — ${h}` : '';
}

function slackCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** True for errors the Slack client creates itself (platform, HTTP, request, rate-limited…). */
function isSlackClientError(err: unknown): boolean {
  const c = slackCode(err);
  return c !== undefined && (Object.values(ErrorCode) as string[]).includes(c);
}

/**
 * The client's own "retry me" error after sleeping a 429's Retry-After. It throws a plain Error inside the
 * same try block that wraps network failures, so it reaches p-retry as a WebAPIRequestError like a refused
 * connection would: only the original message tells them apart.
 */
function isClientRateLimitRetry(err: unknown): boolean {
  if (slackCode(err) !== ErrorCode.RequestError) return false;
  const original = (err as { original?: { message?: unknown } }).original;
  return typeof original?.message === 'string' && original.message.startsWith('A rate limit was exceeded');
}

/** A short, secret-free description of a network failure (fetch / undici errors nest the useful code). */
function describeNetworkError(err: unknown, timeoutMs: number): string {
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

/** Only short Slack-style codes from a webhook body make it into a message; anything else could echo input. */
function webhookCode(body: string): string {
  const t = body.trim();
  return /^[a-z_]{1,64}$/.test(t) ? t : '';
}

/** Retry-After is either delta-seconds or an HTTP date. */
function parseRetryAfter(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || s.trim() === '') return undefined;
  if (/^\d+$/.test(s.trim())) return Number.parseInt(s, 10);
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function configError(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, SLACK_CONFIG_ERROR);
}

function rateLimitedFailure(message: string, retryAfterSec: number): ApplicationFailure {
  // Slack said when to come back: tell Temporal, rather than letting its backoff guess.
  return ApplicationFailure.create({
    message,
    type: SLACK_RATE_LIMITED,
    nonRetryable: false,
    nextRetryDelay: `${Math.max(1, retryAfterSec)}s`,
  });
}

export function createNotifier(opts: NotifierOptions): Notifier {
  const rateLimitRetries = Math.max(0, opts.rateLimitRetries ?? 3);
  const maxRetryAfterSec = Math.max(0, opts.maxRetryAfterSec ?? 30);
  const timeoutMs = opts.timeoutMs ?? 10_000;

  const secrets = [...(opts.secrets ?? [])];
  if (opts.token) secrets.push(opts.token);
  if (opts.webhookUrl) {
    secrets.push(opts.webhookUrl);
    try {
      // The path holds the webhook's secret part; it can show up without the origin.
      const path = new URL(opts.webhookUrl).pathname;
      if (path.length > 1) secrets.push(path);
    } catch {
      throw configError('The Slack webhook URL is not a valid URL (value not shown: it is a secret)');
    }
  }
  const scrub = (s: string) => redactString(s, secrets);
  const log: LogFn = (level, msg, attrs) => opts.log(level, scrub(msg), attrs && redact(attrs, secrets));

  /** Keeps the alert in the worker log when Slack refuses it for good. */
  const logUndelivered = (kind: ChannelKind, msg: SlackMessage, reason: string) =>
    log('error', `Slack ${kind} message not delivered (${reason}): ${msg.text}`, { channelKind: kind });

  if (opts.token) return webApiNotifier(opts.token);
  if (opts.webhookUrl) return webhookNotifier(opts.webhookUrl);
  return logNotifier();

  function logNotifier(): Notifier {
    return {
      transport: 'log',
      async post(kind, msg) {
        const safe = redact(msg, secrets);
        log(kind === 'failure' ? 'warn' : 'info', safe.text, { channelKind: kind, transport: 'log' });
        return { delivered: false, transport: 'log' };
      },
      async check() {
        return { transport: 'log' };
      },
    };
  }

  function webApiNotifier(token: string): Notifier {
    const failureChannel = opts.channels?.failure;
    if (!failureChannel) throw configError('A Slack token is configured but no failure channel');
    const channelFor = (kind: ChannelKind) =>
      kind === 'success' ? (opts.channels?.success ?? failureChannel) : failureChannel;

    const clientLogger: Logger = {
      debug: () => {},
      info: (...m: unknown[]) => log('info', m.map(String).join(' '), { component: 'slack-web-api' }),
      warn: (...m: unknown[]) => log('warn', m.map(String).join(' '), { component: 'slack-web-api' }),
      error: (...m: unknown[]) => log('error', m.map(String).join(' '), { component: 'slack-web-api' }),
      setLevel: () => {},
      getLevel: () => LogLevel.INFO,
      setName: () => {},
    };

    // The client passes retryConfig straight to p-retry. With rejectRateLimitedCalls:false it sleeps the
    // Retry-After of a 429 itself and then throws to get retried; it would retry HTTP 5xx, network errors and
    // timeouts the same way, with backoff. We stop those at once via p-retry's onFailedAttempt (not in the
    // client's RetryOptions type, hence the widening), so only rate limits are retried here and Temporal owns
    // the rest. maxRetryTime bounds the total time spent waiting out rate limits.
    const retryConfig: RetryOptions & { onFailedAttempt: (err: unknown) => void } = {
      retries: rateLimitRetries,
      factor: 2,
      minTimeout: 100,
      maxTimeout: 1000,
      randomize: true,
      maxRetryTime: Math.max(1, rateLimitRetries + 1) * Math.max(1, maxRetryAfterSec) * 1000,
      onFailedAttempt: (err: unknown) => {
        if (isSlackClientError(err) && !isClientRateLimitRetry(err)) throw err;
      },
    };
    const client = new WebClient(token, {
      slackApiUrl: opts.apiUrl,
      retryConfig,
      rejectRateLimitedCalls: false,
      timeout: timeoutMs,
      logger: clientLogger,
    });
    let lastRetryAfterSec = 1;
    client.on(WebClientEvent.RATE_LIMITED, (retrySec: number) => {
      lastRetryAfterSec = retrySec;
      log('warn', `Slack rate limited the call; waiting ${retrySec}s as asked (Retry-After)`, {
        retryAfterSec: retrySec,
      });
    });

    /** Maps whatever the client threw to a Temporal-friendly error. */
    const toFailure = (err: unknown, method: string, channel: string | undefined): Error => {
      const where = channel ? ` to channel ${channel}` : '';
      if (isClientRateLimitRetry(err)) {
        return rateLimitedFailure(
          scrub(
            `Slack kept rate limiting ${method}${where} after ${rateLimitRetries} in-process retries; ` +
              `Temporal retries in ${lastRetryAfterSec}s`,
          ),
          lastRetryAfterSec,
        );
      }
      switch (slackCode(err)) {
        case ErrorCode.PlatformError: {
          const code = String((err as { data?: { error?: unknown } }).data?.error ?? 'unknown_error');
          const m = scrub(`Slack ${method}${where} failed: ${code}`);
          if (TRANSIENT_PLATFORM_ERRORS.has(code)) return new Error(`${m} (transient; will be retried)`);
          return configError(scrub(`Slack ${method}${where} was refused: ${code}${hint(code)}`));
        }
        case ErrorCode.HTTPError: {
          const status = Number((err as { statusCode?: unknown }).statusCode);
          if (status >= 500 || status === 408) {
            return new Error(scrub(`Slack API answered HTTP ${status} to ${method}${where}; retryable`));
          }
          return configError(
            scrub(
              `Slack API answered HTTP ${status} to ${method}${where}; check the Slack API URL and token`,
            ),
          );
        }
        case ErrorCode.RequestError: {
          const why = describeNetworkError((err as { original?: unknown }).original, timeoutMs);
          return new Error(scrub(`Slack API request ${method}${where} failed: ${why}; retryable`));
        }
        case ErrorCode.RateLimitedError: {
          const sec = Number((err as { retryAfter?: unknown }).retryAfter) || lastRetryAfterSec;
          return rateLimitedFailure(scrub(`Slack rate limited ${method}${where}; retry in ${sec}s`), sec);
        }
        default: {
          const msg = err instanceof Error ? err.message : String(err);
          // e.g. a 429 without Retry-After, which the client refuses to retry.
          return new Error(scrub(`Slack ${method}${where} failed: ${msg.slice(0, 300)}; retryable`));
        }
      }
    };

    return {
      transport: 'web-api',
      async post(kind, msg) {
        const channel = channelFor(kind);
        const safe = redact(msg, secrets);
        try {
          const res = await client.chat.postMessage({
            channel,
            text: safe.text,
            blocks: safe.blocks,
            // Our links point to the Web UI; previews add noise and leak nothing useful.
            unfurl_links: false,
            unfurl_media: false,
          });
          return res.ts === undefined
            ? { delivered: true, transport: 'web-api' }
            : { delivered: true, transport: 'web-api', ts: res.ts };
        } catch (err) {
          const failure = toFailure(err, 'chat.postMessage', channel);
          if (failure instanceof ApplicationFailure && failure.nonRetryable) {
            logUndelivered(kind, safe, failure.message);
          }
          throw failure;
        }
      },
      async check() {
        try {
          const res = await client.auth.test();
          const out: CheckResult = { transport: 'web-api' };
          if (res.team !== undefined) out.team = res.team;
          if (res.user !== undefined) out.user = res.user;
          if (res.bot_id !== undefined) out.botId = res.bot_id;
          return out;
        } catch (err) {
          throw toFailure(err, 'auth.test', undefined);
        }
      },
    };
  }

  function webhookNotifier(url: string): Notifier {
    const where = "the incoming webhook's channel";
    return {
      transport: 'webhook',
      async post(kind, msg) {
        const safe = redact(msg, secrets);
        const body = JSON.stringify({ text: safe.text, blocks: safe.blocks, unfurl_links: false });
        for (let attempt = 0; ; attempt++) {
          let status: number;
          let retryAfter: number | undefined;
          let code: string;
          try {
            const res = await request(url, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body,
              signal: AbortSignal.timeout(timeoutMs),
            });
            status = res.statusCode;
            retryAfter = parseRetryAfter(res.headers['retry-after']);
            // Always drain the body so the keep-alive socket is released.
            code = webhookCode(await res.body.text());
          } catch (err) {
            throw new Error(
              scrub(
                `Slack webhook request to ${where} failed: ${describeNetworkError(err, timeoutMs)}; retryable`,
              ),
            );
          }
          if (status >= 200 && status < 300) return { delivered: true, transport: 'webhook' };
          if (status === 429) {
            const wait = retryAfter ?? 1;
            if (attempt >= rateLimitRetries || wait > maxRetryAfterSec) {
              throw rateLimitedFailure(
                `Slack webhook rate limited after ${attempt + 1} attempt(s); Temporal retries in ${wait}s`,
                wait,
              );
            }
            log('warn', `Slack webhook rate limited; waiting ${wait}s as asked (Retry-After)`, {
              retryAfterSec: wait,
              attempt: attempt + 1,
            });
            await sleep(wait * 1000);
            continue;
          }
          const detail = code ? ` ${code}` : '';
          if (status >= 500 || status === 408) {
            throw new Error(`Slack webhook answered HTTP ${status}${detail} for ${where}; retryable`);
          }
          const failure = configError(
            `Slack webhook refused the message for ${where}: HTTP ${status}${detail}${hint(code)}`,
          );
          logUndelivered(kind, safe, failure.message);
          throw failure;
        }
      },
      async check() {
        // A webhook has no side-effect-free call to validate it; it is checked by the first post.
        return { transport: 'webhook' };
      },
    };
  }
}
