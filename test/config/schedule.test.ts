// The `schedule` section of the config: optional, with defaults, every field checked; and the Temporal
// Schedule made from it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { durationMs } from '../../src/config/schema.ts';
import { describeSpec, scheduleConfig, scheduleOptions } from '../../src/client/schedule.ts';
import { testConfig } from '../support/config.ts';

const groups = [{ name: 'infra', datasets: [{ name: 'ds', selector: { class: 'c' } }] }];

/** A config file's content with this schedule section, validated as the product does. */
function withSchedule(schedule: unknown, timezone = 'Europe/Paris') {
  return parseConfig(
    {
      timezone,
      warp10: { url: 'http://127.0.0.1:1', readToken: { env: 'R' }, writeToken: { env: 'W' } },
      store: { type: 'local', path: '/tmp/x' },
      schedule,
      groups,
    },
    'test',
  );
}

describe('schedule config', () => {
  test('absent: the defaults (day 1, 00:30, 3 days of catch-up, no pause on failure)', () => {
    const config = testConfig({ groups });
    assert.equal(config.schedule, undefined);
    assert.deepEqual(scheduleConfig(config), {
      id: 'warp10-offloader-monthly',
      dayOfMonth: 1,
      hour: 0,
      minute: 30,
      catchupWindow: '3 days',
      pauseOnFailure: false,
    });
  });

  test('the Temporal Schedule: a calendar in the config time zone, overlap SKIP, the monthly workflow', () => {
    const config = withSchedule({ dayOfMonth: 2, hour: 3, minute: 5, catchupWindow: '12h' });
    assert.equal(scheduleConfig(config).id, 'warp10-offloader-monthly');
    const o = scheduleOptions(config);
    assert.deepEqual(o.spec, {
      calendars: [{ dayOfMonth: 2, hour: 3, minute: 5, comment: 'monthly offload of the previous month' }],
      timezone: 'Europe/Paris',
    });
    assert.equal(o.action.workflowType, 'monthlyOffload');
    assert.equal(o.action.taskQueue, config.temporal.taskQueue);
    assert.deepEqual(o.action.args, [{}]);
    assert.equal(o.action.workflowId, 'offload/scheduled/warp10-offloader-monthly');
    assert.deepEqual(o.policies, { overlap: 'SKIP', catchupWindow: 12 * 3_600_000, pauseOnFailure: false });
    assert.equal(describeSpec(config), 'day 2 of every month at 03:05 Europe/Paris');
  });

  test('durations as Temporal reads them', () => {
    assert.equal(durationMs('3 days'), 3 * 86_400_000);
    assert.equal(durationMs('12h'), 12 * 3_600_000);
    assert.equal(durationMs('90 minutes'), 90 * 60_000);
    assert.equal(durationMs('1.5h'), 5_400_000);
    assert.equal(durationMs('1 week'), 604_800_000);
    assert.equal(durationMs('3 fortnights'), undefined);
    assert.equal(durationMs('soon'), undefined);
  });

  test('every invalid field is reported as expected/found', () => {
    const bad = {
      id: 'no spaces allowed',
      dayOfMonth: 31,
      hour: 24,
      minute: -1,
      catchupWindow: '10 seconds',
      pauseOnFailure: 'yes',
      jitter: '5m',
    };
    assert.throws(
      () => withSchedule(bad),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const lines = err.problems.join('\n');
        assert.match(lines, /schedule\.id: expected a schedule ID/);
        assert.match(lines, /schedule\.dayOfMonth: expected an integer between 1 and 28, found 31/);
        assert.match(lines, /schedule\.hour: expected an integer between 0 and 23, found 24/);
        assert.match(lines, /schedule\.minute: expected an integer between 0 and 59, found -1/);
        assert.match(
          lines,
          /schedule\.catchupWindow: expected a duration of at least a minute .* found "10 seconds"/,
        );
        assert.match(lines, /schedule\.pauseOnFailure: expected true or false, found "yes"/);
        assert.match(lines, /schedule\.jitter: expected one of the keys id, dayOfMonth/);
        return true;
      },
    );
  });
});
