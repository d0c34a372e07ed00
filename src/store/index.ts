/** Builds the configured archive store; everything else imports the store API from here. */
import { LocalStore } from './local.ts';
import { S3Store } from './s3.ts';
import type { S3StoreOptions } from './s3.ts';
import type { ArchiveStore } from './types.ts';

export type StoreConfig =
  | { type: 'local'; path: string }
  | {
      type: 's3';
      endpoint: string;
      region: string;
      bucket: string;
      prefix?: string;
      forcePathStyle?: boolean;
      /** Already-resolved secret values (not env var names). */
      accessKeyId: string;
      secretAccessKey: string;
    };

/** Tuning knobs that are not part of the operator-facing config (tests, benchmarks). */
export type S3Tuning = Omit<
  S3StoreOptions,
  'endpoint' | 'region' | 'bucket' | 'prefix' | 'forcePathStyle' | 'credentials'
>;

export function createStore(cfg: StoreConfig, s3Tuning: S3Tuning = {}): ArchiveStore {
  switch (cfg.type) {
    case 'local':
      return new LocalStore(cfg.path);
    case 's3':
      return new S3Store({
        ...s3Tuning,
        endpoint: cfg.endpoint,
        region: cfg.region,
        bucket: cfg.bucket,
        prefix: cfg.prefix,
        forcePathStyle: cfg.forcePathStyle,
        credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
      });
    default: {
      const never: never = cfg;
      throw new Error(`Unknown store type ${JSON.stringify((never as { type?: unknown }).type)}`);
    }
  }
}

export { LocalStore } from './local.ts';
export { S3Store, normalisePrefix } from './s3.ts';
export type { S3StoreOptions } from './s3.ts';
export { validateKey, validatePrefix } from './common.ts';
export {
  StoreError,
  StoreTransientError,
  StorePermanentError,
  NotFoundError,
  InvalidKeyError,
  isTransientStoreError,
} from './types.ts';
export type { ArchiveStore, ObjectInfo, PutBody, PutOptions, PutProgress, PutResult } from './types.ts';
