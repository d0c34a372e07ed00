// Builds what the worker needs from the configuration: the store, the Warp 10 client, the notifier and
// every activity. Secrets are resolved here, from the environment or secret files, and only here.
import { ConfigError, readPem } from '../config/load.ts';
import type { OffloadConfig } from '../config/schema.ts';
import { resolveSecret } from '../config/secrets.ts';
import { createStore } from '../store/index.ts';
import type { ArchiveStore } from '../store/types.ts';
import { createNotifier, type LogFn, type Notifier } from '../slack/notifier.ts';
import { Warp10Client } from '../warp10/client.ts';
import { httpRunner, type WarpScriptRunner } from '../warp10/runner.ts';
import { createSlackActivities } from '../activities/slack.ts';
import { createSmokeActivities } from '../activities/smoke.ts';
import { createStoreActivities } from '../activities/store.ts';
import { createCatalogActivities } from '../activities/catalog.ts';
import { seriesOwners } from '../activities/warp10/owners.ts';
import { cancellationSignal, log } from '@temporalio/activity';
import { createWarp10Activities } from '../activities/warp10.ts';
import { createOffloadActivities } from '../activities/offload.ts';
import { createRestoreActivities, type RestoreTarget } from '../activities/restore.ts';
import { createPageActivities } from '../activities/page.ts';
import { createEraseActivities } from '../activities/erase.ts';
import { instrumentRunner, type OffloaderMetrics } from '../metrics/metrics.ts';

export interface Runtime {
  config: OffloadConfig;
  store: ArchiveStore;
  client: Warp10Client;
  runner: WarpScriptRunner;
  notifier: Notifier;
  tokens: { read: string; write: string };
  /** Every secret value in use, for redaction. */
  secrets: string[];
  /**
   * The Warp 10 a restore writes into: the configured one without a name, else a `restoreTargets`
   * entry. Its tokens are resolved on first use (a cold instance's secrets may be mounted only when
   * needed); throws ConfigError for an unknown name and SecretError for a missing secret.
   */
  restoreTarget(name?: string): RestoreTarget;
  /** The offloader's Prometheus metrics, when the worker exports them. */
  metrics?: OffloaderMetrics;
  /** The key of erasure records' selector HMAC: erasure.recordKey, else the write token. */
  erasureKey: string;
  close(): Promise<void>;
}

/**
 * Environment overrides for endpoints that the local stack decides at run time (ports): WARP10_URL and
 * TEMPORAL_ADDRESS win over the file, so the embedded defaults follow `npm run stack:up`.
 */
export function withEnvOverrides(config: OffloadConfig, env = process.env): OffloadConfig {
  return {
    ...config,
    warp10: { ...config.warp10, url: env.WARP10_URL || config.warp10.url },
    temporal: {
      ...config.temporal,
      address: env.TEMPORAL_ADDRESS || config.temporal.address,
      uiUrl: env.TEMPORAL_UI_URL || config.temporal.uiUrl,
    },
    ...metricsOverride(config, env),
  };
}

/** OFFLOADER_METRICS_PORT / OFFLOADER_METRICS_HOST (containers: 0.0.0.0) win over `metrics`. */
function metricsOverride(config: OffloadConfig, env: NodeJS.ProcessEnv): Pick<OffloadConfig, 'metrics'> {
  const port = env.OFFLOADER_METRICS_PORT ? Number(env.OFFLOADER_METRICS_PORT) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new ConfigError(
      `OFFLOADER_METRICS_PORT: expected a port number between 0 and 65535, found ${JSON.stringify(env.OFFLOADER_METRICS_PORT)}`,
      'environment',
    );
  }
  if (port === undefined && !config.metrics) return {};
  return {
    metrics: {
      port: port ?? config.metrics?.port ?? 9464,
      host: env.OFFLOADER_METRICS_HOST || config.metrics?.host || '127.0.0.1',
    },
  };
}

/** The configured archive store; resolved S3 keys are appended to `secrets` for redaction. */
export function buildStore(config: OffloadConfig, secrets: string[] = []): ArchiveStore {
  const s = config.store;
  if (s.type === 'local') return createStore({ type: 'local', path: s.path });
  if (!s.endpoint) {
    throw new ConfigError(
      "store.endpoint: expected the S3 endpoint URL (for example Cellar's), found nothing",
      'config',
    );
  }
  const accessKeyId = resolveSecret(s.accessKeyId, 'store.accessKeyId');
  const secretAccessKey = resolveSecret(s.secretAccessKey, 'store.secretAccessKey');
  secrets.push(accessKeyId, secretAccessKey);
  return createStore({ ...s, endpoint: s.endpoint, accessKeyId, secretAccessKey });
}

export function buildRuntime(
  config: OffloadConfig,
  opts: { log: LogFn; runner?: WarpScriptRunner; store?: ArchiveStore; metrics?: OffloaderMetrics } = {
    log: () => {},
  },
): Runtime {
  const tokens = {
    read: resolveSecret(config.warp10.readToken, 'warp10.readToken'),
    write: resolveSecret(config.warp10.writeToken, 'warp10.writeToken'),
  };
  const secrets = [tokens.read, tokens.write];
  const store = opts.store ?? buildStore(config, secrets);
  const slack = config.slack;
  const slackToken = slack?.token ? resolveSecret(slack.token, 'slack.token') : undefined;
  const webhookUrl = slack?.webhookUrl ? resolveSecret(slack.webhookUrl, 'slack.webhookUrl') : undefined;
  if (slackToken) secrets.push(slackToken);
  if (webhookUrl) secrets.push(webhookUrl);
  const recordKey = config.erasure ? resolveSecret(config.erasure.recordKey, 'erasure.recordKey') : undefined;
  if (recordKey) secrets.push(recordKey);
  const notifier = createNotifier({
    token: slackToken,
    webhookUrl,
    apiUrl: slack?.apiUrl,
    channels: {
      failure: slack?.channel,
      success:
        slack?.successSummary?.enabled === false
          ? undefined
          : (slack?.successSummary?.channel ?? slack?.channel),
    },
    log: opts.log,
    secrets,
  });
  const client = new Warp10Client({
    url: config.warp10.url,
    connectTimeoutMs: config.warp10.connectTimeoutMs,
    requestTimeoutMs: config.warp10.requestTimeoutMs,
    maxConcurrentRequests: config.warp10.maxConcurrentRequests,
    secrets,
    ...(config.warp10.caFile ? { ca: readPem(config.warp10.caFile, 'warp10.caFile') } : {}),
  });
  const plain = opts.runner ?? httpRunner(client);
  const runner = opts.metrics ? instrumentRunner(plain, opts.metrics) : plain;
  const targets = new Map<string, RestoreTarget>();
  return {
    config,
    erasureKey: recordKey ?? tokens.write,
    store,
    client,
    runner,
    notifier,
    tokens,
    secrets,
    restoreTarget(name?: string): RestoreTarget {
      const key = name ?? 'default';
      let target = targets.get(key);
      if (target) return target;
      if (name === undefined) {
        target = { name: key, url: config.warp10.url, runner: httpRunner(client), client, tokens };
      } else {
        const t = config.restoreTargets?.find((x) => x.name === name);
        if (!t) {
          const known = (config.restoreTargets ?? []).map((x) => x.name);
          throw new ConfigError(
            `No restore target "${name}" in the configuration; ${known.length > 0 ? `configured: ${known.join(', ')}` : 'restoreTargets lists none'}.`,
            'config',
          );
        }
        const i = config.restoreTargets?.indexOf(t) ?? 0;
        const targetTokens = {
          read: resolveSecret(t.readToken, `restoreTargets[${i}].readToken`),
          write: resolveSecret(t.writeToken, `restoreTargets[${i}].writeToken`),
        };
        secrets.push(targetTokens.read, targetTokens.write);
        const targetClient = new Warp10Client({
          url: t.url,
          connectTimeoutMs: t.connectTimeoutMs,
          requestTimeoutMs: t.requestTimeoutMs,
          secrets,
        });
        target = {
          name,
          url: t.url,
          runner: httpRunner(targetClient),
          tokens: targetTokens,
          client: targetClient,
        };
      }
      targets.set(key, target);
      return target;
    },
    metrics: opts.metrics,
    async close() {
      for (const t of targets.values()) if (t.client !== client) await t.client.close();
      await client.close();
      await store.close();
    },
  };
}

/** Every activity the worker registers. */
export function createActivities(rt: Runtime) {
  const warp10 = createWarp10Activities({
    config: rt.config,
    store: rt.store,
    runner: rt.runner,
    tokens: rt.tokens,
  });
  const store = createStoreActivities({
    store: rt.store,
    owners: (selector) =>
      seriesOwners({ runner: rt.runner, tokens: rt.tokens }, selector, {
        signal: cancellationSignal(),
        warn: (message) => log.warn(message),
      }),
  });
  return {
    ...warp10,
    ...store,
    ...createCatalogActivities({ store: rt.store }),
    ...createPageActivities({ warp10, store, archive: rt.store }),
    ...createSlackActivities({ notifier: rt.notifier, secrets: rt.secrets }),
    ...createSmokeActivities({ client: rt.client, runner: rt.runner, tokens: rt.tokens }),
    ...createOffloadActivities({ config: rt.config, store: rt.store, runner: rt.runner, tokens: rt.tokens }),
    ...createRestoreActivities({ store: rt.store, restoreTarget: (name) => rt.restoreTarget(name) }),
    ...createEraseActivities({
      store: rt.store,
      runner: rt.runner,
      recordKey: () => rt.erasureKey,
    }),
    async notifySettings() {
      return { uiUrl: rt.config.temporal.uiUrl, namespace: rt.config.temporal.namespace };
    },
  };
}
