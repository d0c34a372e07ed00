// The incoming-webhook transport, through @slack/webhook. The client does the request (JSON body, timeout,
// no redirects) and leaves 5xx and network errors unretried (its default), so Temporal owns those retries.
// It fails a 429 at once and its error carries no headers: the Retry-After is read through its `fetch`
// option, and the rate limit waited out here like the Web API client does.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  IncomingWebhook,
  IncomingWebhookHTTPError,
  IncomingWebhookRequestError,
  type FetchFunction,
} from '@slack/webhook';
import { redact } from '../config/redact.ts';
import {
  configError,
  describeNetworkError,
  hint,
  logUndelivered,
  rateLimitedFailure,
  type Notifier,
  type TransportContext,
} from './transport.ts';

const WHERE = "the incoming webhook's channel";

/** Only short Slack-style codes from a webhook body make it into a message; anything else could echo input. */
function webhookCode(body: string): string {
  const t = body.trim();
  return /^[a-z_]{1,64}$/.test(t) ? t : '';
}

/** Retry-After is either delta-seconds or an HTTP date. */
function parseRetryAfter(s: string | null): number | undefined {
  if (s === null || s.trim() === '') return undefined;
  if (/^\d+$/.test(s.trim())) return Number.parseInt(s, 10);
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

export function webhookNotifier(url: string, ctx: TransportContext): Notifier {
  const { log, scrub, rateLimitRetries, maxRetryAfterSec, timeoutMs } = ctx;
  return {
    transport: 'webhook',
    async post(kind, msg) {
      const safe = redact(msg, ctx.secrets);
      // One client a post, so concurrent posts each see their own response's Retry-After.
      let retryAfter: number | undefined;
      const recordRetryAfter: FetchFunction = async (u, init) => {
        const res = await fetch(u, init as RequestInit);
        retryAfter = parseRetryAfter(res.headers.get('retry-after'));
        return res;
      };
      const webhook = new IncomingWebhook(url, { timeout: timeoutMs, fetch: recordRetryAfter });
      for (let attempt = 0; ; attempt++) {
        try {
          await webhook.send({ text: safe.text, blocks: safe.blocks, unfurl_links: false });
          return { delivered: true, transport: 'webhook' };
        } catch (err) {
          if (!(err instanceof IncomingWebhookHTTPError)) {
            const original = err instanceof IncomingWebhookRequestError ? err.original : err;
            throw new Error(
              scrub(
                `Slack webhook request to ${WHERE} failed: ${describeNetworkError(original, timeoutMs)}; retryable`,
              ),
            );
          }
          const status = err.statusCode;
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
          const code = webhookCode(err.body);
          const detail = code ? ` ${code}` : '';
          if (status >= 500 || status === 408) {
            throw new Error(`Slack webhook answered HTTP ${status}${detail} for ${WHERE}; retryable`);
          }
          const failure = configError(
            `Slack webhook refused the message for ${WHERE}: HTTP ${status}${detail}${hint(code)}`,
          );
          logUndelivered(ctx, kind, safe, failure.message);
          throw failure;
        }
      }
    },
    async check() {
      // A webhook has no side-effect-free call to validate it; it is checked by the first post.
      return { transport: 'webhook' };
    },
  };
}
