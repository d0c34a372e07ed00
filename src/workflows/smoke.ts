// `smoke`: proves the wiring end to end — an activity writes a few points into Warp 10 with the write
// token, another reads them back with WarpScript.
import { proxyActivities } from '@temporalio/workflow';
import type { SmokeActivities } from '../activities/smoke.ts';

const acts = proxyActivities<SmokeActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['WarpScriptError', 'Warp10HttpError'] },
});

export async function smoke(input: {
  className: string;
  points: [number, number][];
}): Promise<[number, number][]> {
  await acts.ingestPoints(input);
  return acts.readPoints({ className: input.className });
}
