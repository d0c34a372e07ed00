// Activities of the smoke workflow: a write and a read against Warp 10.
import type { Warp10Client } from '../warp10/client.ts';
import type { WarpScriptRunner } from '../warp10/runner.ts';
import { toFailure } from './failures.ts';

export function createSmokeActivities(deps: {
  client: Warp10Client;
  runner: WarpScriptRunner;
  tokens: { read: string; write: string };
}) {
  const { client, runner, tokens } = deps;
  return {
    async ingestPoints(input: { className: string; points: [number, number][] }): Promise<void> {
      if (!/^[A-Za-z0-9._-]+$/.test(input.className))
        throw new TypeError('className must be [A-Za-z0-9._-]+');
      const lines = input.points.map(([ts, v]) => `${ts}// ${input.className}{} ${v}`).join('\n');
      await client.update(tokens.write, lines).catch((e: unknown) => Promise.reject(toFailure(e)));
    },
    async readPoints(input: { className: string }): Promise<[number, number][]> {
      const [points] = await runner
        .run<[[number, number][]]>('smoke-read', { token: tokens.read, class: input.className })
        .catch((e: unknown) => Promise.reject(toFailure(e)));
      return points;
    },
  };
}

export type SmokeActivities = ReturnType<typeof createSmokeActivities>;
