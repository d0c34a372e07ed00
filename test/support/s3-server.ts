/** Starts a real local S3-compatible server (s3rver) in-process on 127.0.0.1 for tests. */
import type { CipherKey } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;
interface AccountModule {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
}

// s3rver is CommonJS without type declarations.
const require = createRequire(import.meta.url);

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node >= 17)
 * only has in its legacy provider, so every second page fails with a 500 InternalError. Two-key
 * 3DES with both keys equal computes exactly single DES, so route 'des' there (tokens only).
 */
function patchDesForS3rver(): void {
  type CipherFactory = (algorithm: string, key: CipherKey, ...rest: unknown[]) => unknown;
  const crypto = require('node:crypto') as { createCipheriv: CipherFactory; createDecipheriv: CipherFactory };
  try {
    crypto.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return; // DES available (legacy provider enabled): nothing to do.
  } catch {
    // fall through and patch
  }
  const remap = (algorithm: string, key: CipherKey): [string, CipherKey] =>
    algorithm.toLowerCase() === 'des' && Buffer.isBuffer(key) && key.length === 8
      ? ['des-ede-cbc', Buffer.concat([key, key])]
      : [algorithm, key];
  const cipheriv = crypto.createCipheriv;
  const decipheriv = crypto.createDecipheriv;
  crypto.createCipheriv = (algorithm, key, ...rest) => cipheriv(...remap(algorithm, key), ...rest);
  crypto.createDecipheriv = (algorithm, key, ...rest) => decipheriv(...remap(algorithm, key), ...rest);
}
patchDesForS3rver();

const S3rver = require('s3rver') as S3rverCtor;
const accounts = require('s3rver/lib/models/account.js') as AccountModule;

/**
 * s3rver only accepts access key ids it knows (built in: S3RVER) but does not check SigV4
 * signatures, so the secret is arbitrary. Tests use distinctive values to spot leaks in messages.
 */
export const TEST_ACCESS_KEY_ID = 'AKIATESTSTOREKEY7Q3Z';
export const TEST_SECRET_ACCESS_KEY = 'test-secret-Zq9vLp2Xw8Nn4Rr6Tt1Yy5';
accounts.DUMMY_ACCOUNT.createKeyPair(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY);

export interface TestS3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

export async function startS3Server(buckets: string[]): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-test-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    region: 'us-east-1',
    accessKeyId: TEST_ACCESS_KEY_ID,
    secretAccessKey: TEST_SECRET_ACCESS_KEY,
    async stop() {
      try {
        await server.close();
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    },
  };
}
