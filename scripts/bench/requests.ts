// The offloader's Warp 10 requests, counted by script, with the selectors each names: Warp 10 scans the
// class's metadata once per selector, so those are what a month's cost grows with. The scale bench
// reports them (and the time they took); the large-dataset test (test/workflows/archive-partitions.test.ts)
// bounds them.
import path from 'node:path';
import type { FeedingRunner, Params } from '../../src/warp10/runner.ts';

/** Requests by script name (`archive-read`, ...), the selectors they named, their summed duration. */
export type RequestCounts = Map<string, { n: number; selectors: number; ms: number }>;

/** `inner`, counting each request into `requests` as it is sent. */
export function countingRunner(inner: FeedingRunner, requests: RequestCounts): FeedingRunner {
  const count = (script: string, params: Params) => {
    const name = path.basename(script, '.mc2');
    const named = Array.isArray(params.fetch)
      ? params.fetch.length
      : Array.isArray(params.groups)
        ? params.groups.length
        : // archive-encode parses text: no class scanned.
          typeof params.text === 'string'
          ? 0
          : 1;
    const r = requests.get(name) ?? { n: 0, selectors: 0, ms: 0 };
    requests.set(name, { ...r, n: r.n + 1, selectors: r.selectors + named });
    const t0 = performance.now();
    // Until the reply is read to its end (a stream's caller reads it as it parses).
    return () => (requests.get(name)!.ms += performance.now() - t0);
  };
  const timed = async <T>(done: () => void, p: Promise<T>) => {
    try {
      return await p;
    } finally {
      done();
    }
  };
  async function* timedBody(body: AsyncIterable<Uint8Array>, done: () => void) {
    try {
      yield* body;
    } finally {
      done();
    }
  }
  return {
    run: (s, p, sig) => timed(count(s, p), inner.run(s, p, sig)),
    runFed: (s, p, f, sig) => timed(count(s, p), inner.runFed(s, p, f, sig)),
    stream: async (s, p, sig) => {
      const done = count(s, p);
      return timedBody(await inner.stream(s, p, sig), done);
    },
  };
}

/** `archive-read 12 (12 selectors, 3.4 s), ...`: for the logs. */
export const describeRequests = (requests: RequestCounts) =>
  [...requests]
    .map(([k, v]) => `${k} ${v.n} (${v.selectors} selectors, ${(v.ms / 1000).toFixed(1)} s)`)
    .join(', ');
