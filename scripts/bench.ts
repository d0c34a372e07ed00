// npm run bench — measured in one run against the local stack:
//   1. the archive against a plain script doing the same Warp 10 work (bench/archive.ts): export phase,
//      whole safe archive, batchConcurrency 1/2/4, worker memory at 1x and 10x the data;
//   2. the export reply parser alone against library parsers (bench/reader.ts; no Warp 10 needed).
// Needs a running Warp 10 (npm run stack:up, or WARP10_URL). Data goes to throwaway classes and months.
// `npm run bench -- archive` or `npm run bench -- reader` runs one part only.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { applyStackEnv } from '../src/stack-env.ts';
import { benchArchive } from './bench/archive.ts';
import { benchReader } from './bench/reader.ts';

applyStackEnv();
Runtime.install({ logger: new DefaultLogger('WARN') });

const only = process.argv[2];
if (only !== undefined && only !== 'archive' && only !== 'reader') {
  throw new Error(`unknown part ${only}: archive or reader`);
}
if (only !== 'reader') {
  await benchArchive({ repetitions: Number(process.env.BENCH_REPETITIONS ?? 3), concurrencies: [1, 2, 4] });
}
if (only !== 'archive') await benchReader();
