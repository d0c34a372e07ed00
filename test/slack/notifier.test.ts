// createNotifier: with nothing configured, the log transport (the Web API and webhook transports have
// their own files).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNotifier } from '../../src/slack/notifier.ts';
import { msg, recorder } from '../support/slack-asserts.ts';

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
