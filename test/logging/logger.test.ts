// The worker's log format: one JSON object per line with the run's context, secrets redacted wherever
// they hide, the SDK's lines in the same shape, and a human-readable mode for local use.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PinoSdkLogger, createLogger, memoryDestination, normalizeMeta } from '../../src/logging/logger.ts';

const SECRET = 'tok-3b1f9a-super-secret';

describe('worker logs', () => {
  test('JSON: one object per line, ISO time, level names, redacted secrets', () => {
    const out = memoryDestination();
    const secrets: string[] = [];
    const log = createLogger({ format: 'json', level: 'info', secrets, destination: out }, {});
    secrets.push(SECRET); // known only after the config's secrets are resolved
    log.info({ workflowId: 'archive/infra/os-cpu/2026-10', batch: 3 }, `exported with ${SECRET}`);
    log.warn({ headers: { authorization: `Bearer ${SECRET}` } }, 'nested');
    log.error({ err: new Error(`refused: ${SECRET}`) }, 'failed');
    log.debug('not at info level');
    const lines = out.lines();
    assert.equal(lines.length, 3);
    const [a, b, c] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(a?.level, 'info');
    assert.match(String(a?.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(a?.msg, 'exported with [REDACTED]');
    assert.equal(a?.batch, 3);
    assert.equal(a?.service, 'warp10-offloader');
    assert.deepEqual(b?.headers, { authorization: 'Bearer [REDACTED]' });
    assert.equal(c?.level, 'error');
    assert.ok(!lines.join('\n').includes(SECRET), 'the secret is nowhere');
  });

  test("the SDK's logger: its levels, workflow and activity fields, and the dataset-month of a run", () => {
    const out = memoryDestination();
    const sdk = new PinoSdkLogger(createLogger({ format: 'json', level: 'debug', destination: out }, {}));
    sdk.debug('Activity started', {
      activityType: 'exportBatch',
      workflowId: 'archive/infra/os-cpu/2026-10',
      workflowRunId: 'r1',
      batch: 3,
    });
    sdk.log('WARN', 'Workflow failed', { workflowId: 'archive-failure/infra/os-cpu/2026-10/r1', error: 'x' });
    sdk.trace('too fine');
    const [a, b] = out.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(out.lines().length, 2);
    assert.deepEqual(
      {
        level: a?.level,
        activity: a?.activity,
        group: a?.group,
        dataset: a?.dataset,
        month: a?.month,
        batch: a?.batch,
      },
      {
        level: 'debug',
        activity: 'exportBatch',
        group: 'infra',
        dataset: 'os-cpu',
        month: '2026-10',
        batch: 3,
      },
    );
    assert.equal(a?.workflowRunId, 'r1');
    assert.equal(b?.level, 'warn');
    assert.equal(b?.dataset, 'os-cpu');
    assert.equal(b?.err, 'x');
    assert.deepEqual(normalizeMeta({ workflowId: 'offload/2026-10' }), { workflowId: 'offload/2026-10' });
  });

  test('pretty: a human-readable line, not JSON, still redacted; LOG_FORMAT and LOG_LEVEL win', () => {
    const out = memoryDestination();
    const log = createLogger(
      { format: 'json', secrets: [SECRET], destination: out },
      {
        LOG_FORMAT: 'pretty',
        LOG_LEVEL: 'warn',
      },
    );
    log.info('hidden at warn');
    log.warn({ workflowId: 'archive/infra/os-cpu/2026-10', activity: 'verifyBatch' }, `mismatch ${SECRET}`);
    const lines = out.lines();
    assert.equal(lines.length >= 1, true);
    assert.match(
      lines[0] ?? '',
      /WARN.*\[archive\/infra\/os-cpu\/2026-10 verifyBatch\] mismatch \[REDACTED\]/,
    );
    assert.throws(() => JSON.parse(lines[0] ?? ''));
    assert.ok(!lines.join('\n').includes(SECRET));
  });
});
