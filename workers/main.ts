// npm run worker — the offloader's Temporal worker. Stops gracefully on SIGTERM/SIGINT: in-flight
// activities get a grace period, then Temporal hands unfinished work to another worker.
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { SecretError } from '../src/config/secrets.ts';
import { applyStackEnv } from '../src/stack-env.ts';
import { buildRuntime, withEnvOverrides } from '../src/worker/runtime.ts';
import { createOffloadWorker } from '../src/worker/worker.ts';

async function main(): Promise<number> {
  applyStackEnv();
  Runtime.install({
    logger: new DefaultLogger(process.env.LOG_LEVEL === 'debug' ? 'DEBUG' : 'INFO'),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
  let runtime;
  try {
    const config = withEnvOverrides(loadConfig());
    runtime = buildRuntime(config, {
      log: (level, msg) => console[level === 'debug' ? 'log' : level](`[slack] ${msg}`),
    });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SecretError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const { config } = runtime;
  if (runtime.notifier.transport === 'web-api') {
    await runtime.notifier
      .check()
      .catch((e: unknown) => console.error(`Slack check failed: ${(e as Error).message}`));
  } else if (runtime.notifier.transport === 'log') {
    console.log('Slack is not configured: failure notifications go to this log.');
  }
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  try {
    const worker = await createOffloadWorker({ connection, runtime });
    console.log(
      `worker on task queue ${config.temporal.taskQueue} (namespace ${config.temporal.namespace}, Temporal ${config.temporal.address}, Warp 10 ${config.warp10.url}, store ${runtime.store.description})`,
    );
    await worker.run();
    console.log('worker stopped');
    return 0;
  } finally {
    await connection.close();
    await runtime.close();
  }
}

process.exitCode = await main();
