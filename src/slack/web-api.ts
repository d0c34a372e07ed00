// The Web API transport: chat.postMessage with a bot token, through @slack/web-api. The client waits out
// rate limits itself; everything else it would retry goes back to Temporal at once (see transport.ts).
import { ErrorCode, LogLevel, WebClient, WebClientEvent } from '@slack/web-api';
import type { Logger, RetryOptions } from '@slack/web-api';
import { ApplicationFailure } from '@temporalio/common';
import { redact } from '../config/redact.ts';
import {
  configError,
  describeNetworkError,
  hint,
  logUndelivered,
  rateLimitedFailure,
  type ChannelKind,
  type CheckResult,
  type Notifier,
  type TransportContext,
} from './transport.ts';

export interface WebApiOptions {
  /** Bot token (xoxb-…). */
  token: string;
  /** Web API base URL; tests point it at a local fake. Default https://slack.com/api/. */
  apiUrl?: string | undefined;
  /** Channel IDs or names; `success` defaults to `failure`. */
  channels?: { failure?: string | undefined; success?: string | undefined } | undefined;
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

export function webApiNotifier(opts: WebApiOptions, ctx: TransportContext): Notifier {
  const { log, scrub, rateLimitRetries, maxRetryAfterSec, timeoutMs } = ctx;
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
  const client = new WebClient(opts.token, {
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
          scrub(`Slack API answered HTTP ${status} to ${method}${where}; check the Slack API URL and token`),
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
      const safe = redact(msg, ctx.secrets);
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
          logUndelivered(ctx, kind, safe, failure.message);
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
