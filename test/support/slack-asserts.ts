// Assertions and fixtures shared by the Slack transport tests (test/slack/*.test.ts).
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import type { SlackMessage } from '../../src/slack/message.ts';
import { SLACK_CONFIG_ERROR, type LogFn, type LogLevelName } from '../../src/slack/notifier.ts';

export const msg: SlackMessage = {
  text: 'Offload failed: 2026-10 infra/os-cpu',
  blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Offload failed*' } }],
};

export interface LogLine {
  level: LogLevelName;
  msg: string;
  attrs?: Record<string, unknown>;
}

export function recorder(): { log: LogFn; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    log: (level, m, attrs) => lines.push(attrs ? { level, msg: m, attrs } : { level, msg: m }),
  };
}

/** Awaits a rejection and hands back the error for detailed assertions. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof Error);
    return err;
  }
  assert.fail('expected a rejection');
}

export function assertConfigError(err: Error): asserts err is ApplicationFailure {
  assert.ok(
    err instanceof ApplicationFailure,
    `expected ApplicationFailure, got ${err.name}: ${err.message}`,
  );
  assert.equal(err.nonRetryable, true);
  assert.equal(err.type, SLACK_CONFIG_ERROR);
}

export function assertRetryable(err: Error): void {
  assert.ok(!(err instanceof ApplicationFailure && err.nonRetryable), `must be retryable: ${err.message}`);
}
