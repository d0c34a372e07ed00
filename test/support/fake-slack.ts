// A local stand-in for Slack, so tests drive the real @slack/web-api and @slack/webhook clients and real HTTP.
// The client POSTs application/x-www-form-urlencoded bodies (objects such as `blocks` JSON-encoded in a field)
// with the token in `Authorization: Bearer …` (see WebClient.serializeBody / constructor). Incoming webhooks
// take a JSON body and answer plain-text codes ("ok", "no_service", "invalid_payload"…), as Slack does.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';

export interface ScriptedResponse {
  /** HTTP status; default 200. */
  status?: number;
  /** Seconds, sent as the Retry-After header. */
  retryAfter?: number;
  /** JSON value (or raw string) for the body. Default: a Slack-like error matching the status. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering (to exercise client timeouts). */
  delayMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Form fields (Web API) or JSON (webhook); JSON-encoded form fields such as `blocks` are decoded. */
  body: Record<string, unknown>;
  rawBody: string;
  contentType: string | undefined;
  authorization: string | undefined;
  /** Which client sent it, e.g. `@slack:webhook/8.0.2 node/20.20.2 …`. */
  userAgent: string | undefined;
  /** Status this fake answered. */
  status: number;
  at: number;
}

export interface AcceptedMessage {
  via: 'web-api' | 'webhook';
  channel?: string;
  webhookId?: string;
  text?: string;
  blocks?: unknown;
  ts?: string;
}

export interface FakeSlackOptions {
  /** The token the fake accepts; any other answers `invalid_auth`, none `not_authed`. */
  token?: string;
  /** If given, only these channels exist (others answer `channel_not_found`). */
  channels?: string[];
}

export interface FakeSlack {
  /** Base URL for WebClient's `slackApiUrl`, e.g. http://127.0.0.1:PORT/api/ */
  apiUrl: string;
  baseUrl: string;
  /** URL of an incoming webhook; the id is registered as valid. Unknown ids answer 404 no_service. */
  webhookUrl(id: string): string;
  /** Messages that were accepted (what a human would have seen in Slack). */
  messages(): AcceptedMessage[];
  /** Every request received, accepted or not, in arrival order. */
  requests(): RecordedRequest[];
  /** The next `count` requests (any route) get this failure instead of being processed. */
  failNext(count: number, response: ScriptedResponse): void;
  /** The next request gets HTTP 200 with this JSON body, e.g. { ok: false, error: 'invalid_auth' }. */
  respondNext(body: unknown): void;
  /** Forget recorded requests, messages and scripted responses. */
  reset(): void;
  close(): Promise<void>;
}

// Block Kit limits Slack enforces with `invalid_blocks`: checking them here catches builder bugs in tests.
function blocksProblem(blocks: unknown): string | undefined {
  if (!Array.isArray(blocks)) return 'blocks is not an array';
  if (blocks.length > 50) return 'more than 50 blocks';
  for (const b of blocks as Array<Record<string, unknown>>) {
    const text = (b.text as { text?: unknown } | undefined)?.text;
    if (b.type === 'header' && (typeof text !== 'string' || text.length > 150)) return 'header text > 150';
    if (b.type === 'section') {
      if (text !== undefined && (typeof text !== 'string' || text.length > 3000))
        return 'section text > 3000';
      const fields = b.fields as Array<{ text?: unknown }> | undefined;
      if (fields && (fields.length > 10 || fields.some((f) => String(f.text).length > 2000))) {
        return 'section fields too many or too long';
      }
      if (text === undefined && !fields) return 'section without text or fields';
    }
    if (b.type === 'actions') {
      for (const e of (b.elements as Array<Record<string, unknown>> | undefined) ?? []) {
        const url = e.url;
        if (
          url !== undefined &&
          (typeof url !== 'string' || url.length > 3000 || !/^https?:\/\//.test(url))
        ) {
          return 'invalid button url';
        }
      }
    }
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (contentType?.startsWith('application/json')) {
    const v: unknown = JSON.parse(raw);
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : { value: v };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parseQuery(raw))) {
    const s = Array.isArray(v) ? v[0] : v;
    // The client JSON-encodes non-scalar arguments (blocks, attachments, metadata).
    if (typeof s === 'string' && (k === 'blocks' || k === 'attachments' || k === 'metadata')) {
      try {
        out[k] = JSON.parse(s);
        continue;
      } catch {
        // keep the raw string: the handler reports invalid_blocks
      }
    }
    out[k] = s;
  }
  return out;
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const expectedToken = options.token;
  const channels = options.channels ? new Set(options.channels) : undefined;
  const webhookIds = new Set<string>();
  let recorded: RecordedRequest[] = [];
  let accepted: AcceptedMessage[] = [];
  let script: ScriptedResponse[] = [];
  let seq = 0;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const isText = typeof body === 'string';
    res.writeHead(status, {
      'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
      ...headers,
    });
    res.end(isText ? body : JSON.stringify(body));
  };

  const handleApi = (method: string, body: Record<string, unknown>, auth: string | undefined): unknown => {
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
    if (token === undefined || token === '') return { ok: false, error: 'not_authed' };
    if (expectedToken !== undefined && token !== expectedToken) return { ok: false, error: 'invalid_auth' };

    if (method === 'auth.test') {
      return {
        ok: true,
        url: 'https://fake-team.slack.com/',
        team: 'Fake Team',
        user: 'offloader-bot',
        team_id: 'T0FAKE',
        user_id: 'U0FAKE',
        bot_id: 'B0FAKE',
      };
    }
    if (method === 'chat.postMessage') {
      const channel = typeof body.channel === 'string' ? body.channel : '';
      if (channel === '' || (channels && !channels.has(channel)))
        return { ok: false, error: 'channel_not_found' };
      const text = typeof body.text === 'string' ? body.text : undefined;
      if (text === undefined && body.blocks === undefined) return { ok: false, error: 'no_text' };
      if (text !== undefined && text.length > 40000) return { ok: false, error: 'msg_too_long' };
      if (body.blocks !== undefined && blocksProblem(body.blocks))
        return { ok: false, error: 'invalid_blocks' };
      seq++;
      const ts = `${Math.floor(Date.now() / 1000)}.${String(seq).padStart(6, '0')}`;
      accepted.push({ via: 'web-api', channel, text, blocks: body.blocks, ts });
      return { ok: true, channel, ts, message: { type: 'message', text, ts } };
    }
    return { ok: false, error: 'unknown_method' };
  };

  const handleWebhook = (id: string, body: Record<string, unknown>): [number, string] => {
    if (!webhookIds.has(id)) return [404, 'no_service'];
    const text = typeof body.text === 'string' ? body.text : undefined;
    if (text === undefined && body.blocks === undefined) return [400, 'no_text'];
    if (body.blocks !== undefined && blocksProblem(body.blocks)) return [400, 'invalid_blocks'];
    accepted.push({ via: 'webhook', webhookId: id, text, blocks: body.blocks });
    return [200, 'ok'];
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const contentType = req.headers['content-type'];
      const authorization = req.headers.authorization;
      const rec: RecordedRequest = {
        method: req.method ?? '',
        path,
        body: {},
        rawBody: raw,
        contentType,
        authorization,
        userAgent: req.headers['user-agent'],
        status: 0,
        at: Date.now(),
      };
      recorded.push(rec);
      const isWebhook = path.startsWith('/webhook/');
      const answer = (status: number, body: unknown, headers?: Record<string, string>) => {
        rec.status = status;
        send(res, status, body, headers);
      };

      const scripted = script.shift();
      try {
        rec.body = parseBody(raw, contentType);
      } catch {
        if (!scripted)
          return answer(400, isWebhook ? 'invalid_payload' : { ok: false, error: 'invalid_json' });
      }
      if (scripted) {
        if (scripted.delayMs) await new Promise((r) => setTimeout(r, scripted.delayMs));
        const status = scripted.status ?? 200;
        const headers: Record<string, string> = { ...scripted.headers };
        if (scripted.retryAfter !== undefined) headers['retry-after'] = String(scripted.retryAfter);
        const defaultBody =
          status === 429
            ? isWebhook
              ? 'rate_limited'
              : { ok: false, error: 'ratelimited' }
            : isWebhook
              ? status >= 500
                ? 'internal_error'
                : 'no_service'
              : status >= 500
                ? 'Internal Server Error'
                : { ok: false, error: 'fake_error' };
        return answer(status, scripted.body ?? defaultBody, headers);
      }

      if (req.method !== 'POST') return answer(405, 'method_not_allowed');
      if (isWebhook) {
        const [status, code] = handleWebhook(decodeURIComponent(path.slice('/webhook/'.length)), rec.body);
        return answer(status, code);
      }
      if (path.startsWith('/api/')) return answer(200, handleApi(path.slice(5), rec.body, authorization));
      return answer(404, 'not_found');
    })().catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { ok: false, error: `fake_slack_crash: ${String(err)}` });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Port 0: a free port chosen by the OS, so tests can run in parallel.
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    apiUrl: `${baseUrl}/api/`,
    baseUrl,
    webhookUrl(id) {
      webhookIds.add(id);
      return `${baseUrl}/webhook/${encodeURIComponent(id)}`;
    },
    messages: () => accepted.map((m) => ({ ...m })),
    requests: () => recorded.map((r) => ({ ...r })),
    failNext(count, response) {
      for (let i = 0; i < count; i++) script.push({ ...response });
    },
    respondNext(body) {
      script.push({ status: 200, body });
    },
    reset() {
      recorded = [];
      accepted = [];
      script = [];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Clients keep connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** Alias so a test can read `await start()`. */
export const start = startFakeSlack;
