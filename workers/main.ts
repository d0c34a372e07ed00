// npm run worker — the offloader's Temporal worker. Stops gracefully on SIGTERM/SIGINT: in-flight
// activities get a grace period, then Temporal hands unfinished work to another worker.
// Logs: one JSON object per line (logging.format: pretty or LOG_FORMAT=pretty for people), the SDK's
// own lines included. Metrics: Prometheus on metrics.host:metrics.port when configured (docs/METRICS.md).
import { NativeConnection, Runtime, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { SecretError } from '../src/config/secrets.ts';
import { createLogger, PinoSdkLogger } from '../src/logging/logger.ts';
import { processMetrics } from '../src/metrics/metrics.ts';
import { freePort, serveMetrics, type MetricsServer } from '../src/metrics/server.ts';
import { applyStackEnv } from '../src/stack-env.ts';
import { resolveTemporal } from '../src/temporal/connection.ts';
import { buildRuntime, withEnvOverrides } from '../src/worker/runtime.ts';
import { createOffloadWorker } from '../src/worker/worker.ts';
import { checkTimeUnits, Warp10TimeUnitsError } from '../src/warp10/time-units.ts';

async function main(): Promise<number> {
  applyStackEnv();
  let config;
  try {
    config = withEnvOverrides(loadConfig());
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  // Filled with every resolved secret as soon as they are known: no line ever shows one.
  const secrets: string[] = [];
  const logger = createLogger({ ...config.logging, secrets });
  const metrics = config.metrics ? processMetrics() : undefined;
  const sdkMetricsPort = config.metrics ? await freePort('127.0.0.1') : undefined;

  let runtime;
  let temporal;
  try {
    temporal = resolveTemporal(config.temporal);
    secrets.push(...temporal.secrets);
    config = { ...config, temporal: { ...config.temporal, namespace: temporal.namespace } };
    runtime = buildRuntime(config, {
      log: (level, msg) => logger[level === 'debug' ? 'debug' : level]({ component: 'slack' }, msg),
      metrics,
    });
    secrets.push(...runtime.secrets);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SecretError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  // Warp 10 must count microseconds (warp.timeunits = us), or every month's range would be wrong: refused
  // here, before any work is taken. An unreachable Warp 10 only delays runs (every request checks again).
  try {
    await checkTimeUnits(runtime.client);
  } catch (err) {
    if (err instanceof Warp10TimeUnitsError) {
      logger.error({ component: 'warp10', timeUnitsPerSecond: err.perSecond }, err.message);
      console.error(err.message);
      await runtime.close();
      return 2;
    }
    logger.warn(
      { component: 'warp10' },
      `could not check Warp 10's time units at start (${(err as Error).message}); every request checks them`,
    );
  }
  // Installed only once the configuration and every secret are good: an installed runtime keeps the
  // process alive, so a worker refusing its configuration would print why and then hang.
  Runtime.install({
    logger: new PinoSdkLogger(logger),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      ...(sdkMetricsPort ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}` } } } : {}),
    },
  });
  if (runtime.notifier.transport === 'web-api') {
    await runtime.notifier
      .check()
      .catch((e: unknown) =>
        logger.error({ component: 'slack' }, `Slack check failed: ${(e as Error).message}`),
      );
  } else if (runtime.notifier.transport === 'log') {
    logger.info({ component: 'slack' }, 'Slack is not configured: failure notifications go to this log.');
  }
  let worker: Worker | undefined;
  let server: MetricsServer | undefined;
  if (config.metrics && metrics) {
    server = await serveMetrics({
      host: config.metrics.host,
      port: config.metrics.port,
      metrics,
      sdkUrl: `http://127.0.0.1:${sdkMetricsPort}/metrics`,
      healthy: () => worker?.getState() === 'RUNNING',
    });
    logger.info({ url: `${server.url}/metrics` }, `metrics on ${server.url}/metrics`);
  }
  const connection = await NativeConnection.connect(temporal.connection);
  try {
    worker = await createOffloadWorker({ connection, runtime });
    const { taskQueue, namespace } = config.temporal;
    const address = temporal.connection.address;
    logger.info(
      { taskQueue, namespace, temporal: address, tls: Boolean(temporal.connection.tls) },
      `worker on task queue ${taskQueue} (namespace ${namespace}, Temporal ${address}${temporal.connection.tls ? ' over TLS' : ''}, Warp 10 ${config.warp10.url}, store ${runtime.store.description})`,
    );
    await worker.run();
    logger.info('worker stopped');
    return 0;
  } finally {
    await server?.close();
    await connection.close();
    await runtime.close();
  }
}

process.exitCode = await main();
