// npm run bench — measured in one run against the local stack:
//   1. the archive against a plain script doing the same Warp 10 work (bench/archive.ts): export phase,
//      whole safe archive, batchConcurrency 1/2/4, the worker's peak RSS at 1x and 10x the data;
//   1b. orchestration overhead (bench/overhead.ts): a monthly run of 1,000 tiny datasets against a plain
//      script sending the same Warp 10 requests, on the stack's dev server and an in-memory one, and the
//      group's history per run;
//   2. the export reply parser alone against library parsers (bench/reader.ts; no Warp 10 needed);
//   3. restore throughput against a plain /api/v0/update of the same points (bench/restore.ts);
//   4. how a month's cost grows with its data: one class of 50,000 to 500,000 UUID-labelled series and
//      the 2,000 x 1,488 shape, against the plain script on each (bench/scale.ts);
//   5. the archive as a cold tier: ARCHIVE.FETCH of one series and of a 200,000-series month against
//      FETCH of the same before the archive, and the bytes it reads (bench/cold.ts);
//   7. (`-- erase` only) one customer's series erased from a year of archive, against rewriting the
//      objects holding them whole (bench/erase.ts);
//   6. (`-- churn` only) a class whose series churn, archived 6 months with and without purgeEmptySeries:
//      the directory's size, each month's archive time, Warp 10's start-up time (bench/churn.ts).
// Needs a running Warp 10 (npm run stack:up, or WARP10_URL). Data goes to throwaway classes and months.
// `npm run bench -- archive`, `-- overhead`, `-- reader`, `-- restore`, `-- scale` or `-- cold` runs one part only; the issue 9
// table at the end holds the figures of the parts that ran.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { applyStackEnv } from '../src/stack-env.ts';
import { benchArchive } from './bench/archive.ts';
import { benchChurn } from './bench/churn.ts';
import { benchCold } from './bench/cold.ts';
import { benchColdYear } from './bench/cold-year.ts';
import { benchErase } from './bench/erase.ts';
import { benchOverhead, overheadRows } from './bench/overhead.ts';
import { printTable, type BenchRow } from './bench/table.ts';
import { benchReader } from './bench/reader.ts';
import { benchRestore } from './bench/restore.ts';
import { benchScale } from './bench/scale.ts';
import { bundleWorkflows, connectTemporal, requireWarp10 } from './bench/setup.ts';

applyStackEnv();
Runtime.install({ logger: new DefaultLogger('WARN') });

async function restorePart(): Promise<void> {
  requireWarp10();
  const temporal = await connectTemporal();
  await benchRestore({ temporal });
  await temporal.close();
}

async function overheadPart() {
  const workflowBundle = await bundleWorkflows();
  return benchOverhead({
    datasets: Number(process.env.BENCH_DATASETS ?? 1000),
    concurrency: 8,
    workflowBundle,
  });
}

const only = process.argv[2];
if (
  only !== undefined &&
  !['archive', 'overhead', 'reader', 'restore', 'scale', 'cold', 'cold-year', 'churn', 'erase'].includes(only)
) {
  throw new Error(
    `unknown part ${only}: archive, overhead, reader, restore, scale, cold, cold-year, churn or erase`,
  );
}
const rows: BenchRow[] = [];
if (only === undefined || only === 'archive') {
  rows.push(
    ...(await benchArchive({
      repetitions: Number(process.env.BENCH_REPETITIONS ?? 3),
      concurrencies: [1, 2, 4],
    })),
  );
}
if (only === undefined || only === 'overhead') rows.push(...overheadRows(await overheadPart()));
if (only === undefined || only === 'restore') await restorePart();
if (only === undefined || only === 'reader') await benchReader();
if (only === undefined || only === 'scale') await benchScale();
if (only === undefined || only === 'cold') await benchCold();
// Not in the default run (it archives a year of a 200,000-series class): `npm run bench -- cold-year`.
if (only === 'cold-year') await benchColdYear();
// Not in the default run either (6 months of a 200,000-series class, twice): `npm run bench -- churn`.
if (only === 'churn') await benchChurn();
// Not in the default run (a year of a 200,000-series class, then an erasure): `npm run bench -- erase`.
if (only === 'erase') await benchErase();
// One table of issue 9's figures, each next to the baseline measured in this run.
if (rows.length > 0) printTable(rows);
