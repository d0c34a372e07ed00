// npm run demo — the main job on the embedded local defaults: brings the local stack up, seeds a realistic
// synthetic month into the local Warp 10, runs a worker, archives one dataset-month end to end (plan,
// export, verify, guarded delete, commit) and prints what it did.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { monthManifestKey } from '../src/archive/layout.ts';
import { follow, startArchive } from '../src/client/archive.ts';
import { loadConfig } from '../src/config/load.ts';
import { inputFormatChunks, seriesCount, type SyntheticPlan } from '../src/demo/synthetic.ts';
import { addMonths, monthRange, previousMonth } from '../src/month.ts';
import { humanBytes } from '../src/slack/message.ts';
import { applyStackEnv } from '../src/stack-env.ts';
import { buildRuntime, withEnvOverrides } from '../src/worker/runtime.ts';
import { createOffloadWorker } from '../src/worker/worker.ts';
import { StackError } from './stack/common.ts';
import { up } from './stack.ts';

const GROUP = process.env.DEMO_GROUP ?? 'infra';
const DATASET = process.env.DEMO_DATASET ?? 'os-cpu';
// About 2,850 series and 4.2 million points: a few seconds of seeding on a laptop-sized machine.
const SHAPE = { hosts: 150, cores: 8, clients: 400, stepUs: 30 * 60 * 1_000_000 };

async function main(): Promise<number> {
  try {
    await up({ allowMissingWarp10: false });
  } catch (err) {
    if (err instanceof StackError) {
      console.error(`[demo] the local stack could not start:\n${err.message}`);
      return 1;
    }
    throw err;
  }
  applyStackEnv();
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
  const config = withEnvOverrides(loadConfig());
  const rt = buildRuntime(config, { log: (level, msg) => console.log(`[slack:${level}] ${msg}`) });

  // The most recent complete month this dataset has not archived yet (the demo can run again).
  let month = previousMonth(new Date(), config.timezone);
  for (
    let i = 0;
    i < 120 && (await rt.store.head(monthManifestKey({ group: GROUP, dataset: DATASET, month })));
    i++
  ) {
    month = addMonths(month, -1);
  }
  const range = monthRange(month, config.timezone);
  const plan: SyntheticPlan = { ...SHAPE, startUs: Number(range.startUs), endUs: Number(range.endUs) };

  console.log(
    `[demo] seeding ${seriesCount(plan).toLocaleString('en-US')} series for ${month} into ${config.warp10.url}`,
  );
  const seedStart = Date.now();
  let seeded = 0;
  for (const chunk of inputFormatChunks(plan)) {
    await rt.client.update(rt.tokens.write, chunk);
    seeded += chunk.split('\n').length;
  }
  const seedSec = (Date.now() - seedStart) / 1000;
  console.log(`[demo] seeded ${seeded.toLocaleString('en-US')} points in ${seedSec.toFixed(1)}s`);

  const native = await NativeConnection.connect({ address: config.temporal.address });
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const worker = await createOffloadWorker({ connection: native, runtime: rt });
  // Bundling the workflows in-process costs memory before any work: report it apart from the peak.
  const baseRss = process.memoryUsage().rss;
  let peakRss = baseRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);

  console.log(`[demo] archiving ${GROUP}/${DATASET} for ${month}`);
  const started = Date.now();
  try {
    const result = await worker.runUntil(async () => {
      // The demo wrote this month's data itself: no late points to wait for, even right after it ended.
      const run = await startArchive(client, config, {
        group: GROUP,
        dataset: DATASET,
        month,
        ignoreLateness: true,
      });
      console.log(`[demo] workflow ${run.workflowId} — Web UI: ${run.uiUrl}`);
      const handle = client.workflow.getHandle(run.workflowId, run.runId);
      return follow(handle, (p) =>
        console.log(
          `  ${p.phase.padEnd(7)} ${p.exported}/${p.batches} exported, ${p.verified} verified, ${p.deleted} deleted`,
        ),
      );
    });
    const sec = (Date.now() - started) / 1000;
    console.log('');
    console.log(`[demo] ${result.status}: ${GROUP}/${DATASET} ${month}`);
    console.log(`  series          ${result.series.toLocaleString('en-US')}`);
    console.log(`  points          ${result.points.toLocaleString('en-US')}`);
    console.log(`  bytes stored    ${humanBytes(result.bytes)} (${result.bytes.toLocaleString('en-US')} B)`);
    console.log(`  bytes per point ${(result.bytes / Math.max(1, result.points)).toFixed(3)}`);
    console.log(
      `  duration        ${sec.toFixed(1)}s (${Math.round(result.points / sec).toLocaleString('en-US')} points/s)`,
    );
    console.log(
      `  memory (RSS)    ${humanBytes(baseRss)} before archiving, ${humanBytes(peakRss)} peak while archiving`,
    );
    console.log(`  archive         ${rt.store.description}`);
    console.log(
      `  Web UI          ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows`,
    );
    console.log('  The rest of the seeded month stays in Warp 10; archive it with npm run start-archive.');
    return result.status === 'archived' ? 0 : 1;
  } finally {
    clearInterval(sampler);
    await connection.close();
    await native.close();
    await rt.close();
  }
}

process.exitCode = await main();
