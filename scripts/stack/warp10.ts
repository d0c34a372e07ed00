// A Warp 10 3.5.0 standalone (LevelDB backend) from Maven Central, or an existing instance via WARP10_URL.
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  DATA,
  ROOT,
  TOOLS,
  StackError,
  ensureDir,
  envPort,
  httpOk,
  isAlive,
  logFile,
  portInUse,
  readPid,
  run,
  startDetached,
  stopDetached,
  waitFor,
} from './common.ts';

export const WARP10_VERSION = '3.5.0';
const HOME = path.join(TOOLS, 'warp10');
const LIB = path.join(HOME, 'lib');
const W10_DATA = path.join(DATA, 'warp10');
const SECRETS = path.join(W10_DATA, 'secrets.json');

export interface Warp10Endpoint {
  url: string;
  readToken: string;
  writeToken: string;
  external: boolean;
}

/** Thrown when no Warp 10 can be obtained here; callers decide whether that is fatal. */
export class Warp10Unavailable extends StackError {
  override name = 'Warp10Unavailable';
}

/** Downloads the server jar and its runtime dependencies with Maven (scripts/warp10/pom.xml). */
export function installWarp10(): void {
  if (existsSync(LIB) && readdirSync(LIB).some((f) => f.startsWith(`warp10-${WARP10_VERSION}`))) return;
  ensureDir(HOME);
  copyFileSync(path.join(ROOT, 'scripts', 'warp10', 'pom.xml'), path.join(HOME, 'pom.xml'));
  console.log(
    `[stack] fetching Warp 10 ${WARP10_VERSION} (io.warp10:warp10) and its dependencies from Maven Central`,
  );
  try {
    run(
      'mvn',
      [
        '-B',
        '-q',
        '-U',
        '-f',
        path.join(HOME, 'pom.xml'),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${LIB}`,
      ],
      `Maven download of io.warp10:warp10:${WARP10_VERSION}`,
    );
  } catch (err) {
    throw new Warp10Unavailable(
      `${(err as Error).message}\n` +
        `Warp 10 could not be obtained from the Maven registry this machine reaches. ` +
        `Point the stack at an existing Warp 10 instead: set WARP10_URL, WARP10_READ_TOKEN and WARP10_WRITE_TOKEN, then run npm run stack:up again.`,
    );
  }
}

interface Secrets {
  keys: Record<string, string>;
  readToken: string;
  writeToken: string;
  owner: string;
  issuance: number;
}

/** Keys and tokens are random per installation and kept in .data (never committed). */
function loadOrCreateSecrets(): Secrets {
  if (existsSync(SECRETS)) return JSON.parse(readFileSync(SECRETS, 'utf8')) as Secrets;
  const hex = (bytes: number) => `hex:${randomBytes(bytes).toString('hex')}`;
  const secrets: Secrets = {
    keys: {
      'warp.hash.class': hex(16),
      'warp.hash.labels': hex(16),
      'warp.hash.token': hex(16),
      'warp.hash.app': hex(16),
      'warp.aes.token': hex(32),
      'warp.aes.scripts': hex(32),
      'warp.aes.metasets': hex(32),
      'warp.aes.logging': hex(32),
    },
    readToken: `local-read-${randomBytes(16).toString('hex')}`,
    writeToken: `local-write-${randomBytes(16).toString('hex')}`,
    owner: randomUUID(),
    issuance: Date.now(),
  };
  ensureDir(W10_DATA);
  writeFileSync(SECRETS, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

function writeConfig(port: number, s: Secrets): string {
  const confDir = ensureDir(path.join(W10_DATA, 'conf'));
  const tokens = path.join(confDir, 'tokens.conf');
  const ttl = 100 * 365 * 24 * 3600 * 1000;
  // The token file's `id` is the literal token string; both share one owner/producer/application.
  writeFileSync(
    tokens,
    [
      `token.spec = { 'id' '${s.writeToken}' 'type' 'WRITE' 'application' 'offloader' 'owner' '${s.owner}' 'producer' '${s.owner}' 'issuance' ${s.issuance} 'ttl' ${ttl} 'labels' { } 'attributes' { } }`,
      `token.spec = { 'id' '${s.readToken}' 'type' 'READ' 'application' 'offloader' 'owner' '${s.owner}' 'issuance' ${s.issuance} 'ttl' ${ttl} 'owners' [ '${s.owner}' ] 'producers' [ '${s.owner}' ] 'applications' [ 'offloader' ] 'labels' { } 'attributes' { } }`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const generated = path.join(confDir, '99-local.conf');
  const lines = [
    ...Object.entries(s.keys).map(([k, v]) => `${k} = ${v}`),
    `standalone.port = ${port}`,
    `leveldb.home = ${ensureDir(path.join(W10_DATA, 'leveldb'))}`,
    `warp.token.file = ${tokens}`,
    `warpscript.update.endpoint = http://127.0.0.1:${port}/api/v0/update`,
    `warpscript.meta.endpoint = http://127.0.0.1:${port}/api/v0/meta`,
    `warpscript.delete.endpoint = http://127.0.0.1:${port}/api/v0/delete`,
  ];
  writeFileSync(generated, lines.join('\n') + '\n', { mode: 0o600 });
  return generated;
}

async function checkOk(url: string): Promise<boolean> {
  return httpOk(`${url}/api/v0/check`);
}

/** The first call after start can fail while the token file loads in the background: retry briefly. */
async function tokensReady(url: string, readToken: string): Promise<boolean> {
  const res = await fetch(`${url}/api/v0/exec`, {
    method: 'POST',
    body: `{ 'token' '${readToken}' 'class' '~.*' 'labels' {} } FIND SIZE`,
    signal: AbortSignal.timeout(5000),
  });
  await res.arrayBuffer();
  return res.ok;
}

export async function warp10Up(): Promise<Warp10Endpoint> {
  const external = process.env.WARP10_URL;
  if (external) {
    const readToken = process.env.WARP10_READ_TOKEN;
    const writeToken = process.env.WARP10_WRITE_TOKEN;
    if (!readToken || !writeToken) {
      throw new StackError(
        'WARP10_URL is set: also set WARP10_READ_TOKEN and WARP10_WRITE_TOKEN for that instance.',
      );
    }
    const url = external.replace(/\/+$/, '');
    if (!(await checkOk(url).catch(() => false))) {
      throw new Warp10Unavailable(`WARP10_URL=${url} does not answer GET /api/v0/check with 200.`);
    }
    console.log(`[stack] using the existing Warp 10 at ${url}`);
    return { url, readToken, writeToken, external: true };
  }

  const port = envPort('WARP10_PORT', 8080);
  const url = `http://127.0.0.1:${port}`;
  const secrets = loadOrCreateSecrets();
  const endpoint = { url, readToken: secrets.readToken, writeToken: secrets.writeToken, external: false };
  if (isAlive(readPid('warp10')) && (await checkOk(url).catch(() => false))) {
    console.log(`[stack] Warp 10 already running at ${url}`);
    return endpoint;
  }
  installWarp10();
  if (await portInUse(port)) {
    throw new StackError(
      `port ${port} on 127.0.0.1 is taken by another process; stop it or set WARP10_PORT.`,
    );
  }
  const generated = writeConfig(port, secrets);
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const pid = startDetached('warp10', java, [
    '-Xms256m',
    '-Xmx2g',
    '-Dfile.encoding=UTF-8',
    '-Djava.awt.headless=true',
    '--add-exports',
    'java.base/sun.net.www.protocol.file=ALL-UNNAMED',
    '--add-exports',
    'java.desktop/com.sun.imageio.plugins.png=ALL-UNNAMED',
    '-cp',
    `${LIB}/*`,
    'io.warp10.Warp',
    path.join(ROOT, 'scripts', 'warp10', 'standalone.conf'),
    generated,
  ]);
  const log = logFile('warp10');
  await waitFor('Warp 10', () => checkOk(url), { timeoutMs: 120_000, log, pid });
  await waitFor('Warp 10 tokens', () => tokensReady(url, secrets.readToken), { timeoutMs: 90_000, log, pid });
  console.log(`[stack] Warp 10 up at ${url}`);
  return endpoint;
}

export async function warp10Down(): Promise<void> {
  const stopped = await stopDetached('warp10');
  console.log(stopped ? '[stack] Warp 10 stopped' : '[stack] Warp 10 was not running');
}

export async function warp10Status(): Promise<string> {
  if (process.env.WARP10_URL) {
    return (await checkOk(process.env.WARP10_URL).catch(() => false))
      ? 'external, answering'
      : 'external, not answering';
  }
  const pid = readPid('warp10');
  if (!isAlive(pid)) return 'stopped';
  const port = envPort('WARP10_PORT', 8080);
  return (await checkOk(`http://127.0.0.1:${port}`).catch(() => false))
    ? `running (pid ${pid})`
    : `unhealthy (pid ${pid})`;
}
