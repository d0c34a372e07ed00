// How the worker and the CLI reach Temporal: plain gRPC locally; TLS with a private CA, mTLS, or an API
// key (Temporal Cloud) in production — from the config file, or from a profile of Temporal's standard
// environment configuration (temporal.toml and TEMPORAL_* variables, via @temporalio/envconfig).
import type { TLSConfig } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { ConfigError, readPem } from '../config/load.ts';
import type { TemporalConfig } from '../config/schema.ts';
import { resolveSecret } from '../config/secrets.ts';

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export interface ResolvedTemporal {
  /** For NativeConnection.connect (worker) and Connection.connect (client). */
  connection: TemporalConnectionOptions;
  namespace: string;
  /** The API key, if any: a secret to redact. */
  secrets: string[];
}

/** The connection options the config (and its optional environment-configuration profile) describe. */
export function resolveTemporal(t: TemporalConfig, env: NodeJS.ProcessEnv = process.env): ResolvedTemporal {
  let connection: TemporalConnectionOptions = { address: t.address };
  let namespace = t.namespace;
  const secrets: string[] = [];
  if (t.profile !== undefined) {
    let profile;
    try {
      profile = loadClientConnectConfig({
        profile: t.profile,
        overrideEnvVars: Object.fromEntries(
          Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
        ),
      });
    } catch (err) {
      throw new ConfigError(
        `temporal.profile: expected a profile of the Temporal environment configuration (TEMPORAL_CONFIG_FILE or ~/.config/temporalio/temporal.toml), found ${JSON.stringify(t.profile)} unusable: ${(err as Error).message}`,
        'config',
      );
    }
    const o = profile.connectionOptions;
    connection = {
      address: o.address ?? t.address,
      ...(o.tls !== undefined && o.tls !== null ? { tls: o.tls } : {}),
      ...(typeof o.apiKey === 'string' ? { apiKey: o.apiKey } : {}),
      ...(o.metadata ? { metadata: o.metadata as Record<string, string> } : {}),
    };
    namespace = profile.namespace ?? namespace;
  }
  if (t.tls !== undefined) {
    if (typeof t.tls === 'boolean') connection.tls = t.tls;
    else {
      connection.tls = {
        ...(t.tls.caFile ? { serverRootCACertificate: readPem(t.tls.caFile, 'temporal.tls.caFile') } : {}),
        ...(t.tls.certFile && t.tls.keyFile
          ? {
              clientCertPair: {
                crt: readPem(t.tls.certFile, 'temporal.tls.certFile'),
                key: readPem(t.tls.keyFile, 'temporal.tls.keyFile'),
              },
            }
          : {}),
        ...(t.tls.serverName ? { serverNameOverride: t.tls.serverName } : {}),
      };
    }
  }
  if (t.apiKey !== undefined) {
    connection.apiKey = resolveSecret(t.apiKey, 'temporal.apiKey');
    // An API key travels only over TLS (Temporal Cloud); say `tls: false` to override on purpose.
    connection.tls ??= true;
  }
  if (connection.apiKey) secrets.push(connection.apiKey);
  return { connection, namespace, secrets };
}
