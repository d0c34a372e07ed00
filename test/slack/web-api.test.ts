// The Web API transport (src/slack/web-api.ts), through createNotifier: the real @slack/web-api client
// against a local fake Slack (no mocking of the client).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { createNotifier, SLACK_CONFIG_ERROR, SLACK_RATE_LIMITED } from '../../src/slack/notifier.ts';
import type { NotifierOptions } from '../../src/slack/notifier.ts';
import { failureMessage } from '../../src/slack/message.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { assertConfigError, assertRetryable, msg, recorder, rejection } from '../support/slack-asserts.ts';

const TOKEN = 'xoxb-111-222-TopSecretBotToken';
const ALERTS = 'C0ALERTS';
const REPORTS = 'C0REPORTS';

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
