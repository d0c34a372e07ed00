// The offloader's Warp 10 requests, counted by script, with the selectors each names: Warp 10 scans the
// class's metadata once per selector, so those are what a month's cost grows with. The scale bench
// reports them; the large-dataset test (test/workflows/archive-partitions.test.ts) bounds them.
import path from 'node:path';
import type { FeedingRunner, Params } from '../../src/warp10/runner.ts';

/** Requests by script name (`archive-read`, ...), and the selectors they named. */
export type RequestCounts = Map<string, { n: number; selectors: number }>;

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
    const r = requests.get(name) ?? { n: 0, selectors: 0 };
    requests.set(name, { n: r.n + 1, selectors: r.selectors + named });
  };
  return {
    run: (s, p, sig) => (count(s, p), inner.run(s, p, sig)),
    runFed: (s, p, f, sig) => (count(s, p), inner.runFed(s, p, f, sig)),
    stream: (s, p, sig) => (count(s, p), inner.stream(s, p, sig)),
  };
}

/** `archive-read 12 (12 selectors), ...`: for the logs. */
export const describeRequests = (requests: RequestCounts) =>
  [...requests].map(([k, v]) => `${k} ${v.n} (${v.selectors} selectors)`).join(', ');
