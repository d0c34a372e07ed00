// A Warp 10 3.5.0 standalone (LevelDB backend) from a release tarball, or an existing instance via WARP10_URL.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  DATA,
  ExitedDuringStart,
  StartStalled,
  assertNotRunningElsewhere,
  ROOT,
  STACK_ENV,
  TOOLS,
  StackError,
  ensureDir,
  envPort,
  httpOk,
  isAlive,
  logFile,
  portInUse,
  readPid,
  startDetached,
  stopDetached,
  waitWhileProgressing,
} from './common.ts';
import { readStackEnv } from '../../src/stack-env.ts';
import { EXTENSION_CLASS, LOCAL_ARCHIVE, buildExtension } from './extension.ts';

export const WARP10_VERSION = '3.5.0';
/** What a user with internet gets: the official release tarball. */
export const WARP10_RELEASE_URL = `https://github.com/senx/warp10-platform/releases/download/${WARP10_VERSION}/warp10-${WARP10_VERSION}.tar.gz`;
const INSTALLS = path.join(TOOLS, 'warp10');
const DOWNLOADS = path.join(TOOLS, 'downloads');
const W10_DATA = path.join(DATA, 'warp10');
const WAYS_OUT =
  'Set WARP10_DIST to a local warp10-<version>.tar.gz (or its extracted folder), or WARP10_URL (with WARP10_READ_TOKEN and WARP10_WRITE_TOKEN) to an existing Warp 10.';

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

/** The server jar of a distribution folder: lib/ in the tarball shipped to this project, bin/ upstream. */
export function findJar(home: string): string | undefined {
  for (const dir of ['lib', 'bin']) {
    const d = path.join(home, dir);
    if (!existsSync(d)) continue;
    const jar = readdirSync(d).find((f) => /^warp10-.*\.jar$/.test(f));
    if (jar) return path.join(d, jar);
  }
  return undefined;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

async function download(url: string): Promise<string> {
  const dest = path.join(ensureDir(DOWNLOADS), path.basename(new URL(url).pathname) || 'warp10.tar.gz');
  if (existsSync(dest)) return dest;
  console.log(`[stack] downloading Warp 10 from ${url}`);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(600_000) });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new Warp10Unavailable(`could not download Warp 10 from ${url} (${cause}). ${WAYS_OUT}`);
  }
  if (!res.ok || !res.body) {
    throw new Warp10Unavailable(`could not download Warp 10 from ${url} (HTTP ${res.status}). ${WAYS_OUT}`);
  }
  const part = `${dest}.part`;
  await pipeline(Readable.fromWeb(res.body as WebReadableStream), createWriteStream(part));
  renameSync(part, dest);
  return dest;
}

/**
 * Installs the distribution named by WARP10_DIST (a tarball path or URL, or an extracted folder), else the
 * official release, and returns the server jar. A tarball is extracted once into .tools/warp10/<sha256>.
 */
export async function installWarp10(): Promise<string> {
  const dist = process.env.WARP10_DIST?.trim();
  const source = dist || WARP10_RELEASE_URL;
  const named = dist ? `WARP10_DIST=${dist}` : `the Warp 10 ${WARP10_VERSION} release`;
  const local = /^https?:\/\//i.test(source) ? await download(source) : path.resolve(ROOT, source);
  if (!existsSync(local)) {
    throw new StackError(
      `${named}: no such file or folder (${local}); expected a warp10-<version>.tar.gz or its extracted folder.`,
    );
  }
  if (statSync(local).isDirectory()) {
    const jar = findJar(local);
    if (!jar)
      throw new StackError(
        `${named}: the folder holds no lib/warp10-*.jar (nor bin/warp10-*.jar); expected an extracted Warp 10 distribution.`,
      );
    return jar;
  }
  const sha = await sha256File(local);
  const home = path.join(INSTALLS, sha);
  const done = path.join(home, '.installed');
  if (existsSync(done)) {
    const jar = findJar(path.join(home, readFileSync(done, 'utf8').trim()));
    if (jar) return jar;
  }
  console.log(`[stack] installing Warp 10 from ${local} (sha256 ${sha.slice(0, 12)}…) into .tools/warp10`);
  ensureDir(INSTALLS);
  const tmp = mkdtempSync(path.join(INSTALLS, '.extract-'));
  try {
    const res = spawnSync('tar', ['-xzf', local, '-C', tmp], { encoding: 'utf8' });
    if (res.error || res.status !== 0) {
      const why = (res.error?.message ?? res.stderr).trim().split('\n')[0];
      throw new StackError(
        `${named}: ${local} is not a readable gzip tar archive (${why}); expected a warp10-<version>.tar.gz.`,
      );
    }
    const top = readdirSync(tmp).find((d) => findJar(path.join(tmp, d)) !== undefined);
    if (!top) {
      throw new StackError(
        `${named}: ${local} holds no warp10-*/lib/warp10-*.jar (nor bin/); expected a Warp 10 distribution tarball.`,
      );
    }
    rmSync(home, { recursive: true, force: true });
    renameSync(tmp, home);
    writeFileSync(done, `${top}\n`);
    // Other tarballs' installs are left for the user to remove; they are never used again.
    return findJar(path.join(home, top))!;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface Secrets {
  keys: Record<string, string>;
  readToken: string;
  writeToken: string;
  owner: string;
  issuance: number;
}

/** Keys and tokens are random per installation and kept in its data folder (never committed). */
function loadOrCreateSecrets(dataDir: string): Secrets {
  const file = path.join(dataDir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Secrets;
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
  ensureDir(dataDir);
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

const FOREIGN_OWNER = '00000000-0000-4000-8000-0000000000f0';
/** A read token of another owner and application on the local stack, named after its own read token. */
export const foreignReadToken = (readToken: string) =>
  readToken.replace(/^local-read-/, 'local-foreign-read-');
/** The local read token's twin marked `.nofetch` (metadata only): FETCH refuses it, so must ARCHIVE.FETCH. */
export const nofetchReadToken = (readToken: string) =>
  readToken.replace(/^local-read-/, 'local-nofetch-read-');
const TENANT_OWNER = '00000000-0000-4000-8000-0000000000f1';
/**
 * Another owner (a second customer) of the same application 'offloader': its read token (allowed
 * ARCHIVE.FETCH) and write token. Series of both owners can share class and labels; each must see its own.
 */
export const tenantReadToken = (readToken: string) => readToken.replace(/^local-read-/, 'local-tenant-read-');
export const tenantWriteToken = (readToken: string) =>
  readToken.replace(/^local-read-/, 'local-tenant-write-');

/**
 * Writes a standalone's configuration and token file into `dataDir/conf`; returns the configuration file.
 * test/image/compose-warp10.test.ts holds the Docker Compose Warp 10's configuration to this one.
 */
export function writeConfig(
  dataDir: string,
  port: number,
  s: Secrets,
  archiveStore: Record<string, string> = { 'archive.fetch.dir': LOCAL_ARCHIVE },
): string {
  const confDir = ensureDir(path.join(dataDir, 'conf'));
  const tokens = path.join(confDir, 'tokens.conf');
  const ttl = 100 * 365 * 24 * 3600 * 1000;
  // The token file's `id` is the literal token string; the first two share one owner/producer/application.
  // The local read token may use ARCHIVE.FETCH (the capability `.cap:archive.fetch`), ARCHIVE.OWNERS (to record
  // each archived series' owner and producer in the month's index) and LIMIT.
  writeFileSync(
    tokens,
    [
      `token.spec = { 'id' '${s.writeToken}' 'type' 'WRITE' 'application' 'offloader' 'owner' '${s.owner}' 'producer' '${s.owner}' 'issuance' ${s.issuance} 'ttl' ${ttl} 'labels' { } 'attributes' { } }`,
      `token.spec = { 'id' '${s.readToken}' 'type' 'READ' 'application' 'offloader' 'owner' '${s.owner}' 'issuance' ${s.issuance} 'ttl' ${ttl} 'owners' [ '${s.owner}' ] 'producers' [ '${s.owner}' ] 'applications' [ 'offloader' ] 'labels' { } 'attributes' { '.cap:archive.fetch' '' '.cap:archive.owners' '' '.cap:archive.purge' '' '.cap:limits' '' } }`,
      // Another owner's application, allowed ARCHIVE.FETCH: what it may see of ours is nothing (tests).
      `token.spec = { 'id' '${foreignReadToken(s.readToken)}' 'type' 'READ' 'application' 'other' 'owner' '${FOREIGN_OWNER}' 'issuance' ${s.issuance} 'ttl' ${ttl} 'owners' [ '${FOREIGN_OWNER}' ] 'producers' [ '${FOREIGN_OWNER}' ] 'applications' [ 'other' ] 'labels' { } 'attributes' { '.cap:archive.fetch' '' } }`,
      `token.spec = { 'id' '${nofetchReadToken(s.readToken)}' 'type' 'READ' 'application' 'offloader' 'owner' '${s.owner}' 'issuance' ${s.issuance} 'ttl' ${ttl} 'owners' [ '${s.owner}' ] 'producers' [ '${s.owner}' ] 'applications' [ 'offloader' ] 'labels' { } 'attributes' { '.cap:archive.fetch' '' '.nofetch' '' } }`,
      `token.spec = { 'id' '${tenantReadToken(s.readToken)}' 'type' 'READ' 'application' 'offloader' 'owner' '${TENANT_OWNER}' 'issuance' ${s.issuance} 'ttl' ${ttl} 'owners' [ '${TENANT_OWNER}' ] 'producers' [ '${TENANT_OWNER}' ] 'applications' [ 'offloader' ] 'labels' { } 'attributes' { '.cap:archive.fetch' '' } }`,
      `token.spec = { 'id' '${tenantWriteToken(s.readToken)}' 'type' 'WRITE' 'application' 'offloader' 'owner' '${TENANT_OWNER}' 'producer' '${TENANT_OWNER}' 'issuance' ${s.issuance} 'ttl' ${ttl} 'labels' { } 'attributes' { } }`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const generated = path.join(confDir, '99-local.conf');
  const lines = [
    ...Object.entries(s.keys).map(([k, v]) => `${k} = ${v}`),
    `standalone.port = ${port}`,
    `leveldb.home = ${ensureDir(path.join(dataDir, 'leveldb'))}`,
    `warp.token.file = ${tokens}`,
    `warpscript.update.endpoint = http://127.0.0.1:${port}/api/v0/update`,
    `warpscript.meta.endpoint = http://127.0.0.1:${port}/api/v0/meta`,
    `warpscript.delete.endpoint = http://127.0.0.1:${port}/api/v0/delete`,
    // ARCHIVE.FETCH (warp10-extension/) over the local defaults' archive store, unless told another.
    `warpscript.extension.archivefetch = ${EXTENSION_CLASS}`,
    ...Object.entries(archiveStore).map(([k, v]) => `${k} = ${v}`),
  ];
  writeFileSync(generated, lines.join('\n') + '\n', { mode: 0o600 });
  return generated;
}

async function checkOk(url: string): Promise<boolean> {
  return httpOk(`${url}/api/v0/check`);
}

/**
 * Ready means answering GET /api/v0/check and then a FIND with the read token: the HTTP server answers long
 * before the directory has loaded every series' metadata (minutes with millions of series), and FIND fails
 * until it has. Returns true, or why not yet.
 */
export async function warp10Readiness(url: string, readToken: string): Promise<true | string> {
  const check = await fetch(`${url}/api/v0/check`, { signal: AbortSignal.timeout(5000) }).catch(
    (err: Error) => err,
  );
  if (check instanceof Error) {
    return `GET /api/v0/check: ${(check.cause as Error | undefined)?.message ?? check.message}`;
  }
  await check.arrayBuffer();
  if (!check.ok) return `GET /api/v0/check answered HTTP ${check.status}`;
  const res = await fetch(`${url}/api/v0/exec`, {
    method: 'POST',
    // One series at most: a FIND of them all fails past gts.limit on a big directory.
    body: `{ 'token' '${readToken}' 'class' '~.*' 'labels' {} 'gcount' 1 } FIND SIZE`,
    signal: AbortSignal.timeout(10_000),
  }).catch((err: Error) => err);
  if (res instanceof Error) return `a FIND with the read token: ${res.message}`;
  await res.arrayBuffer();
  if (res.ok) return true;
  const msg = res.headers.get('x-warp10-error-message') ?? '';
  return `a FIND with the read token answered HTTP ${res.status}${msg ? ` (${msg.slice(0, 200)})` : ''}`;
}

/** No sign of progress (log, LevelDB files, CPU) for this long: a start-up is given up as stuck. */
export const WARP10_STALL_MS = 60_000;
const DEFAULT_START_TIMEOUT_S = 900;

/** The overall bound on a start-up that keeps making progress: WARP10_START_TIMEOUT seconds, 900 by default. */
export function warp10StartTimeoutMs(): number {
  const raw = process.env.WARP10_START_TIMEOUT?.trim();
  if (!raw) return DEFAULT_START_TIMEOUT_S * 1000;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) {
    throw new StackError(`WARP10_START_TIMEOUT=${raw} is not a number of seconds; set it to e.g. 1800.`);
  }
  return s * 1000;
}

/**
 * Waits for a Warp 10 process of this stack (started now, or found running) to be ready, for as long as it
 * visibly makes progress: its log or LevelDB files change, or it uses CPU (loading every series' metadata
 * logs nothing). Throws ExitedDuringStart, StartStalled or StartTimedOut (it is then left running).
 */
async function waitReady(o: { name: string; dataDir: string; url: string; readToken: string; pid: number }) {
  const what = o.name === 'warp10' ? 'Warp 10' : `Warp 10 (${o.name})`;
  const maxMs = warp10StartTimeoutMs();
  await waitWhileProgressing({
    what: `${what} at ${o.url} (its HTTP check, then a FIND with its read token)`,
    log: logFile(o.name),
    pid: o.pid,
    watch: [logFile(o.name), path.join(o.dataDir, 'leveldb')],
    check: () => warp10Readiness(o.url, o.readToken),
    stallMs: WARP10_STALL_MS,
    maxMs,
    pollMs: 1000,
    howToGoOn:
      o.name === 'warp10'
        ? `run npm run stack:up again, which waits for the running process instead of restarting it, or set WARP10_START_TIMEOUT=<seconds> (now ${maxMs / 1000}) to wait longer in one go`
        : `set WARP10_START_TIMEOUT=<seconds> (now ${maxMs / 1000}) to wait longer`,
  });
}

/**
 * WARP10_URL names an external instance unless it is the endpoint this stack wrote itself (a shell that
 * sourced .data/stack.env carries the local URL and tokens: those are still ours to start and restart).
 */
function externalInstance(): string | undefined {
  const url = process.env.WARP10_URL?.trim().replace(/\/+$/, '');
  if (!url) return undefined;
  const written = readStackEnv(STACK_ENV);
  const ours =
    written.WARP10_URL === url &&
    written.WARP10_MANAGED === 'local' &&
    (process.env.WARP10_READ_TOKEN ?? written.WARP10_READ_TOKEN) === written.WARP10_READ_TOKEN &&
    (process.env.WARP10_WRITE_TOKEN ?? written.WARP10_WRITE_TOKEN) === written.WARP10_WRITE_TOKEN;
  return ours ? undefined : url;
}

const javaBin = () => (process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java');

/** Warp 10 3.5 runs on Java 17 (the version it is tested with here); say so before anything starts. */
function checkJava(): void {
  const res = spawnSync(javaBin(), ['-version'], { encoding: 'utf8' });
  const version = /version "(\d+)/.exec(`${res.stderr ?? ''}${res.stdout ?? ''}`)?.[1];
  if (res.error || res.status !== 0 || version === undefined || Number(version) < 17) {
    throw new StackError(
      `Warp 10 needs Java 17, and ${javaBin()} ${res.error ? 'was not found' : `is version ${version ?? 'unknown'}`}: install it (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME.`,
    );
  }
}

const localUrl = () => `http://127.0.0.1:${envPort('WARP10_PORT', 8080)}`;

let installedJar: Promise<string> | undefined;

/** The jar of the installed distribution (installed first when needed): what the extension builds against. */
export async function warp10Jar(): Promise<string> {
  checkJava();
  installedJar ??= installWarp10();
  return installedJar;
}

/** Obtains the server (once per process) unless an external instance is used or ours is running. */
export async function warp10Prepare(): Promise<void> {
  if (externalInstance()) return;
  assertNotRunningElsewhere('warp10', 'Warp 10', localUrl());
  if (isAlive(readPid('warp10'))) return;
  checkJava();
  installedJar ??= installWarp10();
  await installedJar;
}

export async function warp10Up(): Promise<Warp10Endpoint> {
  const url0 = externalInstance();
  if (url0) {
    const readToken = process.env.WARP10_READ_TOKEN;
    const writeToken = process.env.WARP10_WRITE_TOKEN;
    if (!readToken || !writeToken) {
      throw new StackError(
        'WARP10_URL is set: also set WARP10_READ_TOKEN and WARP10_WRITE_TOKEN for that instance.',
      );
    }
    if (!(await checkOk(url0).catch(() => false))) {
      throw new Warp10Unavailable(
        `WARP10_URL=${url0} does not answer GET /api/v0/check with 200. Start that instance, or unset WARP10_URL to let the stack run its own.`,
      );
    }
    console.log(`[stack] using the existing Warp 10 at ${url0}`);
    return { url: url0, readToken, writeToken, external: true };
  }

  const port = envPort('WARP10_PORT', 8080);
  const url = localUrl();
  assertNotRunningElsewhere('warp10', 'Warp 10', url);
  const secrets = loadOrCreateSecrets(W10_DATA);
  const endpoint = { url, readToken: secrets.readToken, writeToken: secrets.writeToken, external: false };
  const pid = readPid('warp10');
  if (isAlive(pid)) {
    // Ours and alive: ready, or still starting (waited for while it makes progress, never restarted).
    try {
      await waitReady({ name: 'warp10', dataDir: W10_DATA, url, readToken: secrets.readToken, pid });
      console.log(`[stack] Warp 10 already running at ${url}`);
      return endpoint;
    } catch (err) {
      if (!(err instanceof StartStalled || err instanceof ExitedDuringStart)) throw err;
      console.warn(`[stack] ${err.message.split('\n')[0]}\n[stack] starting Warp 10 afresh`);
    }
  }
  // A process we started that died, or is alive but stuck, is stopped before a fresh start.
  await stopDetached('warp10', 5_000);
  installedJar ??= installWarp10();
  const jar = await installedJar;
  if (await portInUse(port)) {
    throw new StackError(
      `port ${port} on 127.0.0.1 is taken by another process; stop it or set WARP10_PORT.`,
    );
  }
  await launch({ name: 'warp10', dataDir: W10_DATA, port, secrets, jar });
  console.log(`[stack] Warp 10 up at ${url}`);
  return endpoint;
}

/**
 * Writes the configuration of a standalone (data folder, port, keys and tokens) and starts it as the
 * detached process `name` (its pid and log under .data), then waits until it answers with its tokens, for
 * as long as it makes progress (see waitReady).
 */
async function launch(opts: {
  name: string;
  dataDir: string;
  port: number;
  secrets: Secrets;
  jar: string;
  archiveStore?: Record<string, string>;
}) {
  const { name, dataDir, port, secrets, jar } = opts;
  const url = `http://127.0.0.1:${port}`;
  const generated = writeConfig(dataDir, port, secrets, opts.archiveStore);
  const extension = buildExtension(jar);
  const pid = startDetached(
    name,
    javaBin(),
    [
      '-Xms256m',
      // The directory holds every series' metadata in heap: the scale bench's classes (2.25 M series
      // over one run) overflow 2 GiB.
      '-Xmx4g',
      '-Dfile.encoding=UTF-8',
      '-Djava.awt.headless=true',
      '--add-exports',
      'java.base/sun.net.www.protocol.file=ALL-UNNAMED',
      '--add-exports',
      'java.desktop/com.sun.imageio.plugins.png=ALL-UNNAMED',
      '-cp',
      [jar, extension].join(path.delimiter),
      'io.warp10.Warp',
      path.join(ROOT, 'scripts', 'warp10', 'standalone.conf'),
      generated,
    ],
    url,
  );
  await waitReady({ name, dataDir, url, readToken: secrets.readToken, pid });
}

export interface StandaloneInstance extends Warp10Endpoint {
  /** Stops the process and keeps its data folder. */
  stop(): Promise<void>;
}

/**
 * Another Warp 10 standalone beside the stack's own, with its own data folder, port, keys and tokens (a
 * "cold" instance to restore into, in tests). Same distribution and configuration as the stack's; `name`
 * names its pid and log files under .data.
 */
export async function startStandalone(opts: {
  name: string;
  dataDir: string;
  port: number;
  /** ARCHIVE.FETCH's store settings (`archive.fetch.*`); default the local defaults' directory. */
  archiveStore?: Record<string, string>;
}): Promise<StandaloneInstance> {
  checkJava();
  installedJar ??= installWarp10();
  const jar = await installedJar;
  if (await portInUse(opts.port))
    throw new StackError(`port ${opts.port} on 127.0.0.1 is taken by another process.`);
  const secrets = loadOrCreateSecrets(opts.dataDir);
  await launch({ ...opts, secrets, jar });
  return {
    url: `http://127.0.0.1:${opts.port}`,
    readToken: secrets.readToken,
    writeToken: secrets.writeToken,
    external: false,
    async stop() {
      await stopDetached(opts.name);
    },
  };
}

export async function warp10Down(): Promise<void> {
  const stopped = await stopDetached('warp10');
  console.log(stopped ? '[stack] Warp 10 stopped' : '[stack] Warp 10 was not running');
}

export async function warp10Status(): Promise<string> {
  const external = externalInstance();
  if (external) {
    return (await checkOk(external).catch(() => false))
      ? `external ${external}, answering`
      : `external ${external}, not answering`;
  }
  const pid = readPid('warp10');
  if (!isAlive(pid)) return 'stopped';
  const port = envPort('WARP10_PORT', 8080);
  return (await checkOk(`http://127.0.0.1:${port}`).catch(() => false))
    ? `running (pid ${pid})`
    : `unhealthy (pid ${pid})`;
}
