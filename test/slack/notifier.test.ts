// Drives the real @slack/web-api and @slack/webhook clients against a local fake Slack (no mocking of them).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { createNotifier, SLACK_CONFIG_ERROR, SLACK_RATE_LIMITED } from '../../src/slack/notifier.ts';
import type { LogFn, LogLevelName, NotifierOptions } from '../../src/slack/notifier.ts';
import { failureMessage } from '../../src/slack/message.ts';
import type { SlackMessage } from '../../src/slack/message.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import type { FakeSlack } from '../support/fake-slack.ts';

const TOKEN = 'xoxb-111-222-TopSecretBotToken';
const ALERTS = 'C0ALERTS';
const REPORTS = 'C0REPORTS';

const msg: SlackMessage = {
  text: 'Offload failed: 2026-10 infra/os-cpu',
  blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Offload failed*' } }],
};

interface LogLine {
  level: LogLevelName;
  msg: string;
  attrs?: Record<string, unknown>;
}

function recorder(): { log: LogFn; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    log: (level, m, attrs) => lines.push(attrs ? { level, msg: m, attrs } : { level, msg: m }),
  };
}

/** Awaits a rejection and hands back the error for detailed assertions. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof Error);
    return err;
  }
  assert.fail('expected a rejection');
}

function assertConfigError(err: Error): asserts err is ApplicationFailure {
  assert.ok(
    err instanceof ApplicationFailure,
    `expected ApplicationFailure, got ${err.name}: ${err.message}`,
  );
  assert.equal(err.nonRetryable, true);
  assert.equal(err.type, SLACK_CONFIG_ERROR);
}

function assertRetryable(err: Error): void {
  assert.ok(!(err instanceof ApplicationFailure && err.nonRetryable), `must be retryable: ${err.message}`);
}

describe('Web API transport', () => {
  let fake: FakeSlack;
  const webApi = (over: Partial<NotifierOptions> = {}) => {
    const rec = recorder();
    const notifier = createNotifier({
      token: TOKEN,
      apiUrl: fake.apiUrl,
      channels: { failure: ALERTS, success: REPORTS },
      log: rec.log,
      ...over,
    });
    return { notifier, lines: rec.lines };
  };

  before(async () => {
    fake = await startFakeSlack({ token: TOKEN, channels: [ALERTS, REPORTS] });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  test('check() validates the token with auth.test, sent as the client really sends it', async () => {
    const { notifier } = webApi();
    const res = await notifier.check();
    assert.deepEqual(res, {
      transport: 'web-api',
      team: 'Fake Team',
      user: 'offloader-bot',
      botId: 'B0FAKE',
    });
    const [req] = fake.requests();
    assert.equal(req?.path, '/api/auth.test');
    assert.equal(req?.authorization, `Bearer ${TOKEN}`);
    assert.equal(req?.contentType, 'application/x-www-form-urlencoded');
    assert.ok(!req?.rawBody.includes(TOKEN), 'the token travels in the header only');
  });

  test('check() with a wrong token throws SlackConfigError without the token', async () => {
    const wrong = 'xoxb-999-WrongTokenValue';
    const { notifier } = webApi({ token: wrong });
    const err = await rejection(notifier.check());
    assertConfigError(err);
    assert.match(err.message, /invalid_auth/);
    assert.ok(!err.message.includes(wrong) && !err.message.includes(TOKEN));
  });

  test('post delivers to the channel of its kind, blocks intact', async () => {
    const { notifier } = webApi();
    const a = await notifier.post('failure', msg);
    const b = await notifier.post('success', { ...msg, text: 'summary' });
    assert.equal(a.delivered, true);
    assert.equal(a.transport, 'web-api');
    const [m1, m2] = fake.messages();
    assert.equal(fake.messages().length, 2);
    assert.equal(m1?.channel, ALERTS);
    assert.equal(m2?.channel, REPORTS);
    assert.equal(a.ts, m1?.ts);
    assert.equal(b.ts, m2?.ts);
    assert.deepEqual(m1?.blocks, msg.blocks);
    assert.equal(m1?.text, msg.text);
  });

  test('a real failure message with a huge error passes Slack block validation', async () => {
    const { notifier } = webApi();
    const m = failureMessage({
      month: '2026-10',
      group: 'infra',
      dataset: 'os-cpu',
      phase: 'delete',
      error: { type: 'E', message: 'e'.repeat(50_000), warp10: { line: 9, message: 'w'.repeat(10_000) } },
      attempts: 1,
      workflowId: 'wf',
      uiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/wf',
      resumeCommand: 'npm run start-archive -- --month 2026-10 --group infra --dataset os-cpu',
    });
    const res = await notifier.post('failure', m);
    assert.equal(res.delivered, true);
    assert.equal(fake.messages().length, 1);
  });

  test('429 twice (Retry-After: 1) then 200: delivered exactly once, after waiting', async () => {
    const { notifier, lines } = webApi();
    fake.failNext(2, { status: 429, retryAfter: 1 });
    const t0 = Date.now();
    const res = await notifier.post('failure', msg);
    const elapsed = Date.now() - t0;
    assert.equal(res.delivered, true);
    assert.equal(fake.requests().length, 3);
    assert.deepEqual(
      fake.requests().map((r) => r.status),
      [429, 429, 200],
    );
    assert.equal(fake.messages().length, 1);
    assert.ok(elapsed >= 1950, `Retry-After honoured twice, took ${elapsed} ms`);
    assert.ok(lines.some((l) => l.level === 'warn' && /Retry-After/.test(l.msg)));
  });

  test('rate limited beyond the in-process budget: retryable SlackRateLimited with Slack’s delay', async () => {
    const { notifier } = webApi({ rateLimitRetries: 1 });
    fake.failNext(2, { status: 429, retryAfter: 1 });
    const err = await rejection(notifier.post('failure', msg));
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, SLACK_RATE_LIMITED);
    assert.equal(err.nonRetryable, false);
    assert.equal(err.nextRetryDelay, '1s');
    assert.equal(fake.requests().length, 2);
    assert.equal(fake.messages().length, 0);
  });

  test('HTTP 500: retryable error, one request (Temporal owns 5xx retries), no token', async () => {
    const { notifier } = webApi();
    fake.failNext(1, { status: 500 });
    const err = await rejection(notifier.post('failure', msg));
    assertRetryable(err);
    assert.match(err.message, /HTTP 500/);
    assert.ok(!err.message.includes(TOKEN));
    assert.equal(fake.requests().length, 1);
    // A later activity attempt goes through.
    assert.equal((await notifier.post('failure', msg)).delivered, true);
  });

  test('invalid_auth: nonRetryable SlackConfigError naming code and channel, not the token', async () => {
    const { notifier, lines } = webApi();
    fake.respondNext({ ok: false, error: 'invalid_auth' });
    const err = await rejection(notifier.post('failure', msg));
    assertConfigError(err);
    assert.match(err.message, /invalid_auth/);
    assert.ok(err.message.includes(ALERTS));
    assert.ok(!err.message.includes(TOKEN));
    assert.equal(fake.requests().length, 1);
    // The alert is not lost silently: its text lands in the worker log.
    assert.ok(lines.some((l) => l.level === 'error' && l.msg.includes(msg.text)));
    assert.ok(!lines.some((l) => l.msg.includes(TOKEN)));
  });

  test('channel_not_found (from the fake, not scripted): SlackConfigError with the channel', async () => {
    const { notifier } = webApi({ channels: { failure: 'C0MISSING' } });
    const err = await rejection(notifier.post('failure', msg));
    assertConfigError(err);
    assert.match(err.message, /channel_not_found/);
    assert.ok(err.message.includes('C0MISSING'));
    assert.ok(!err.message.includes(TOKEN));
  });

  test('a transient platform error stays retryable', async () => {
    const { notifier } = webApi();
    fake.respondNext({ ok: false, error: 'internal_error' });
    const err = await rejection(notifier.post('failure', msg));
    assertRetryable(err);
    assert.match(err.message, /internal_error/);
  });

  test('the token is scrubbed from posted messages too', async () => {
    const { notifier } = webApi();
    await notifier.post('failure', { text: `echo ${TOKEN}`, blocks: [] });
    const [m] = fake.messages();
    assert.equal(m?.text, 'echo [REDACTED]');
  });

  test('connection refused: retryable network error after a single attempt', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { notifier } = webApi({ apiUrl: `http://127.0.0.1:${port}/api/` });
    const t0 = Date.now();
    const err = await rejection(notifier.post('failure', msg));
    assertRetryable(err);
    assert.match(err.message, /ECONNREFUSED/);
    assert.ok(Date.now() - t0 < 1000, 'no client-side retry loop');
  });

  test('a slow Slack: timeout is a retryable error after a single attempt', async () => {
    const { notifier } = webApi({ timeoutMs: 200 });
    fake.failNext(1, { status: 200, body: { ok: true, ts: '1.000001' }, delayMs: 600 });
    const err = await rejection(notifier.post('failure', msg));
    assertRetryable(err);
    assert.match(err.message, /timed out after 200 ms/);
    assert.equal(fake.requests().length, 1);
  });

  test('a token without a failure channel is a config error at creation', () => {
    assert.throws(
      () => createNotifier({ token: TOKEN, log: () => {} }),
      (e: unknown) =>
        e instanceof ApplicationFailure && e.type === SLACK_CONFIG_ERROR && !e.message.includes(TOKEN),
    );
  });
});

describe('incoming webhook transport', () => {
  let fake: FakeSlack;
  before(async () => {
    fake = await startFakeSlack();
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  test('delivers JSON { text, blocks }', async () => {
    const url = fake.webhookUrl('T000/B000/hook-secret-1');
    const n = createNotifier({ webhookUrl: url, log: () => {} });
    assert.equal(n.transport, 'webhook');
    assert.deepEqual(await n.post('failure', msg), { delivered: true, transport: 'webhook' });
    const [m] = fake.messages();
    assert.equal(fake.messages().length, 1);
    assert.equal(m?.via, 'webhook');
    assert.equal(m?.text, msg.text);
    assert.deepEqual(m?.blocks, msg.blocks);
    assert.equal(fake.requests()[0]?.contentType, 'application/json');
    assert.match(fake.requests()[0]?.userAgent ?? '', /@slack:webhook\//, 'sent by the official client');
  });

  test('429 (Retry-After: 1) then 200: delivered once', async () => {
    const url = fake.webhookUrl('T000/B000/hook-secret-2');
    const n = createNotifier({ webhookUrl: url, log: () => {} });
    fake.failNext(1, { status: 429, retryAfter: 1 });
    const t0 = Date.now();
    const res = await n.post('failure', msg);
    assert.equal(res.delivered, true);
    assert.ok(Date.now() - t0 >= 950);
    assert.equal(fake.requests().length, 2);
    assert.equal(fake.messages().length, 1);
  });

  test('Retry-After longer than the bound goes back to Temporal at once', async () => {
    const url = fake.webhookUrl('T000/B000/hook-secret-3');
    const n = createNotifier({ webhookUrl: url, log: () => {}, maxRetryAfterSec: 5 });
    fake.failNext(1, { status: 429, retryAfter: 120 });
    const err = await rejection(n.post('failure', msg));
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, SLACK_RATE_LIMITED);
    assert.equal(err.nonRetryable, false);
    assert.equal(err.nextRetryDelay, '120s');
    assert.equal(fake.requests().length, 1);
  });

  test('404 no_service: nonRetryable, the webhook URL appears nowhere', async () => {
    const secretPath = 'T000/B000/unknown-hook-secret';
    const url = `${fake.baseUrl}/webhook/${secretPath}`;
    const { log, lines } = recorder();
    const n = createNotifier({ webhookUrl: url, log });
    const err = await rejection(n.post('failure', { ...msg, text: `posting via ${url}` }));
    assertConfigError(err);
    assert.match(err.message, /HTTP 404 no_service/);
    assert.ok(!err.message.includes(url) && !err.message.includes('unknown-hook-secret'));
    assert.ok(!JSON.stringify(lines).includes('unknown-hook-secret'));
    assert.ok(
      !fake.requests()[0]?.rawBody.includes('unknown-hook-secret'),
      'not echoed in the message either',
    );
  });

  test('500: retryable', async () => {
    const url = fake.webhookUrl('T000/B000/hook-secret-4');
    const n = createNotifier({ webhookUrl: url, log: () => {} });
    fake.failNext(1, { status: 500 });
    const err = await rejection(n.post('failure', msg));
    assertRetryable(err);
    assert.match(err.message, /HTTP 500/);
    assert.ok(!err.message.includes('hook-secret-4'));
  });
});

describe('log transport', () => {
  test('nothing configured: the text goes to the logger, not delivered', async () => {
    const { log, lines } = recorder();
    const n = createNotifier({ log, secrets: ['s3cr3t-value'] });
    assert.equal(n.transport, 'log');
    assert.deepEqual(await n.check(), { transport: 'log' });
    const res = await n.post('failure', { text: 'Offload failed, key s3cr3t-value', blocks: [] });
    assert.deepEqual(res, { delivered: false, transport: 'log' });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'warn');
    assert.equal(lines[0]?.msg, 'Offload failed, key [REDACTED]');
    await n.post('success', msg);
    assert.equal(lines[1]?.level, 'info');
  });
});
