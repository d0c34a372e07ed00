// The incoming-webhook transport (src/slack/webhook.ts), through createNotifier: the real @slack/webhook
// client against a local fake Slack (no mocking of the client).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { createNotifier, SLACK_RATE_LIMITED } from '../../src/slack/notifier.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { assertConfigError, assertRetryable, msg, recorder, rejection } from '../support/slack-asserts.ts';

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
