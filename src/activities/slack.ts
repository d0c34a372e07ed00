// Activities that notify the team: Slack through @slack/web-api (or an incoming webhook), or the worker
// log when Slack is not configured.
import { log } from '@temporalio/activity';
import { failureMessage, successMessage, type FailureReport, type RunSummary } from '../slack/message.ts';
import type { Notifier } from '../slack/notifier.ts';

export function createSlackActivities(deps: { notifier: Notifier; secrets: string[] }) {
  const { notifier, secrets } = deps;
  return {
    async notifyFailure(report: FailureReport): Promise<{ delivered: boolean; transport: string }> {
      const res = await notifier.post('failure', failureMessage(report, secrets));
      if (!res.delivered)
        log.warn('failure notification written to the worker log only (Slack is not configured)');
      return { delivered: res.delivered, transport: res.transport };
    },
    async notifySuccess(summary: RunSummary): Promise<{ delivered: boolean; transport: string }> {
      const res = await notifier.post('success', successMessage(summary, secrets));
      return { delivered: res.delivered, transport: res.transport };
    },
  };
}

export type SlackActivities = ReturnType<typeof createSlackActivities>;
