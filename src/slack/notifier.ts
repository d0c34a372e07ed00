// Delivers Slack messages through the Web API (bot token, web-api.ts), an incoming webhook (webhook.ts), or —
// when Slack is not configured — the worker log, all behind the one Notifier interface (transport.ts).
// The token and the webhook URL never appear in an error, a log line or a posted message.
import { redact, redactString } from '../config/redact.ts';
import { configError, type LogFn, type Notifier, type TransportContext } from './transport.ts';
import { webApiNotifier } from './web-api.ts';
import { webhookNotifier } from './webhook.ts';

export {
  SLACK_CONFIG_ERROR,
  SLACK_RATE_LIMITED,
  type ChannelKind,
  type CheckResult,
  type LogFn,
  type LogLevelName,
  type Notifier,
  type PostResult,
  type Transport,
} from './transport.ts';

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

export function createNotifier(opts: NotifierOptions): Notifier {
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
  const ctx: TransportContext = {
    log: (level, msg, attrs) => opts.log(level, scrub(msg), attrs && redact(attrs, secrets)),
    secrets,
    scrub,
    rateLimitRetries: Math.max(0, opts.rateLimitRetries ?? 3),
    maxRetryAfterSec: Math.max(0, opts.maxRetryAfterSec ?? 30),
    timeoutMs: opts.timeoutMs ?? 10_000,
  };
  if (opts.token)
    return webApiNotifier({ token: opts.token, apiUrl: opts.apiUrl, channels: opts.channels }, ctx);
  if (opts.webhookUrl) return webhookNotifier(opts.webhookUrl, ctx);
  return logNotifier(ctx);
}

/** Slack not configured: the message goes to the worker log, and is reported as not delivered. */
function logNotifier(ctx: TransportContext): Notifier {
  return {
    transport: 'log',
    async post(kind, msg) {
      const safe = redact(msg, ctx.secrets);
      ctx.log(kind === 'failure' ? 'warn' : 'info', safe.text, { channelKind: kind, transport: 'log' });
      return { delivered: false, transport: 'log' };
    },
    async check() {
      return { transport: 'log' };
    },
  };
}
