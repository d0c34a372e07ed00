// The Docker Compose stack's Warp 10, checked by reading (there is no Docker engine here: the image is not
// built nor started): it loads the same ARCHIVE.FETCH extension as the local stack's Warp 10 (the
// configuration that scripts/stack/warp10.ts writes), built from warp10-extension/ into its image and on
// its classpath, on the Java the extension is compiled for, over the very store the compose worker writes.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { EXTENSION_CLASS, EXTENSION_JAR } from '../../scripts/stack/extension.ts';
import { WARP10_VERSION, writeConfig } from '../../scripts/stack/warp10.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const read = (p: string) => readFileSync(path.join(ROOT, p), 'utf8');

interface Service {
  build?: { context?: string; dockerfile?: string };
  image?: string;
  volumes?: string[];
  environment?: Record<string, string>;
  command?: string[];
}
const compose = YAML.parse(read('docker-compose.yml')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const warp10 = compose.services.warp10!;
const worker = compose.services.worker!;

/** `key = value` lines of a Warp 10 configuration file (comments skipped). */
function confKeys(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([^#/\s][^=]*?)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) keys.set(m[1]!, m[2]!);
  }
  return keys;
}

interface Stage {
  from: string;
  name?: string;
  lines: string[];
}
/** A Dockerfile's stages (continuation lines joined, comments dropped), and the ARGs before the first. */
function parseDockerfile(text: string): { globalArgs: Map<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const l of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(l);
    if (from) stages.push({ from: from[1]!, name: from[2], lines: [] });
    else if (stages.length === 0) {
      const arg = /^ARG\s+(\w+)=(\S+)$/.exec(l);
      if (arg) globalArgs.set(arg[1]!, arg[2]!);
    } else stages.at(-1)!.lines.push(l);
  }
  return { globalArgs, stages };
}
const env = (stage: Stage) =>
  new Map(
    stage.lines
      .filter((l) => l.startsWith('ENV '))
      .flatMap((l) => [...l.slice(4).matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!] as const)),
  );
const copies = (stage: Stage) =>
  stage.lines
    .filter((l) => l.startsWith('COPY '))
    .map((l) => {
      const words = l.split(/\s+/).slice(1);
      const from = /^--from=(\S+)$/.exec(words[0] ?? '')?.[1];
      const rest = words.filter((w) => !w.startsWith('--'));
      return { from, sources: rest.slice(0, -1), dest: rest.at(-1)! };
    });

/** A compose short-syntax volume: `source:target[:mode]`. */
function mounts(service: Service) {
  return (service.volumes ?? []).map((v) => {
    const [source, target, mode] = v.split(':');
    return { source: source!, target: target!, readOnly: mode === 'ro' };
  });
}

const dockerfilePath = warp10.build?.dockerfile ?? '';
const dockerfile = parseDockerfile(
  dockerfilePath && existsSync(path.join(ROOT, dockerfilePath)) ? read(dockerfilePath) : '',
);
const final = dockerfile.stages.at(-1);
const stage = (name: string | undefined) => dockerfile.stages.find((s) => s.name === name);
const confMount = mounts(warp10).find((m) => m.target.startsWith('/config.extra/'));
const dockerConf = confKeys(confMount ? read(confMount.source) : '');

// What the local stack writes for its Warp 10 (into a scratch folder: never the running stack's).
let dir: string;
let local: Map<string, string>;
let localTokens: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'offload-compose-w10-'));
  const conf = writeConfig(dir, 18080, {
    keys: {},
    readToken: 'local-read-x',
    writeToken: 'local-write-x',
    owner: '00000000-0000-4000-8000-000000000001',
    issuance: 0,
  });
  local = confKeys(readFileSync(conf, 'utf8'));
  localTokens = readFileSync(path.join(dir, 'conf', 'tokens.conf'), 'utf8');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the Compose stack’s Warp 10 against the local stack’s (static: no Docker engine here)', () => {
  test('built from scripts/warp10/Dockerfile: the official image of the local stack’s version', () => {
    assert.equal(warp10.build?.context, '.');
    assert.equal(dockerfilePath, 'scripts/warp10/Dockerfile');
    assert.notEqual(warp10.image, 'warp10io/warp10:3.5.0', 'the built image never takes the official tag');
    assert.equal(dockerfile.globalArgs.get('WARP10_VERSION'), WARP10_VERSION);
    assert.equal(final?.from, 'warp10io/warp10:${WARP10_VERSION}');
  });

  test('its configuration file is mounted where the image reads extra configuration', () => {
    assert.ok(confMount, 'a volume into /config.extra/');
    assert.equal(confMount.source, './scripts/warp10/docker.conf');
    assert.match(confMount.target, /^\/config\.extra\/[\w-]+\.conf$/);
    assert.ok(confMount.readOnly);
    assert.equal(env(final!).get('WARP10_EXT_CONFIG_DIR'), '/config.extra');
  });

  test('the same extension class is loaded, with every store key the local stack sets', () => {
    assert.equal(local.get('warpscript.extension.archivefetch'), EXTENSION_CLASS);
    assert.equal(dockerConf.get('warpscript.extension.archivefetch'), EXTENSION_CLASS);
    const storeKeys = [...local.keys()].filter((k) => k.startsWith('archive.fetch.'));
    assert.deepEqual(storeKeys, ['archive.fetch.dir'], 'the local stack reads a local store');
    for (const k of storeKeys) assert.ok(dockerConf.has(k), `docker.conf sets ${k}`);
    assert.equal(dockerConf.get('archive.fetch.store') ?? 'local', 'local');
  });

  test('the store it reads is the volume the compose worker writes its archive to', () => {
    // The worker's store: its config's store.path, from its image's working directory.
    const configFile = /^\$\{OFFLOAD_CONFIG:-(.+)\}$/.exec(worker.environment?.OFFLOAD_CONFIG ?? '')?.[1];
    assert.ok(configFile, `the worker's default config (${worker.environment?.OFFLOAD_CONFIG})`);
    const store = (YAML.parse(read(configFile)) as { store: { type: string; path: string } }).store;
    assert.equal(store.type, 'local');
    const workerImage = parseDockerfile(read(worker.build?.dockerfile ?? 'Dockerfile')).stages.at(-1)!;
    const workdir = workerImage.lines
      .filter((l) => l.startsWith('WORKDIR '))
      .at(-1)
      ?.slice(8);
    const storeDir = path.posix.resolve(workdir ?? '/', store.path);
    const written = mounts(worker).find((m) => m.target === storeDir);
    assert.ok(written, `the worker mounts a volume at its store ${storeDir}`);
    assert.ok(written.source in compose.volumes, `${written.source} is a named volume`);
    const readBy = mounts(warp10).find((m) => m.source === written.source);
    assert.ok(readBy, `Warp 10 mounts the ${written.source} volume`);
    assert.ok(readBy.readOnly, 'read-only in Warp 10');
    assert.equal(dockerConf.get('archive.fetch.dir'), readBy.target);
  });

  test('the jar is built from warp10-extension/ against the image’s own Warp 10 jar, and is on its classpath', () => {
    const pom = read('warp10-extension/pom.xml');
    const artifact = /<artifactId>(warp10-archive-fetch)<\/artifactId>\s*<version>([^<]+)<\/version>/.exec(
      pom,
    );
    assert.equal(`${artifact?.[1]}-${artifact?.[2]}.jar`, path.basename(EXTENSION_JAR));

    const jarCopy = copies(final!).find((c) =>
      c.sources.some((s) => s.endsWith(path.basename(EXTENSION_JAR))),
    );
    assert.ok(jarCopy, `the final stage copies ${path.basename(EXTENSION_JAR)}`);
    const build = stage(jarCopy.from);
    assert.ok(build, `built in stage ${jarCopy.from}`);
    const built = copies(build).flatMap((c) => (c.from === undefined ? c.sources : []));
    assert.ok(
      built.includes('warp10-extension/pom.xml') && built.includes('warp10-extension/src'),
      built.join(),
    );
    for (const src of built) assert.ok(existsSync(path.join(ROOT, src)), `COPY source ${src} exists`);
    const warp10Jar = copies(build).find(
      (c) => c.from !== undefined && /warp10-\$\{WARP10_VERSION\}\.jar$/.test(c.sources[0]!),
    );
    assert.equal(
      stage(warp10Jar?.from)?.from,
      final!.from,
      'compiled against the jar of the image it runs in',
    );
    const mvn = build.lines.find((l) => /^RUN mvn .* package$/.test(l));
    assert.ok(mvn?.includes(`-Dwarp10.jar=${warp10Jar?.dest}`), mvn);

    const classpath = (env(final!).get('WARP10_CP') ?? '').split(':');
    const jar = jarCopy.dest.endsWith('/')
      ? path.posix.join(jarCopy.dest, path.basename(EXTENSION_JAR))
      : jarCopy.dest;
    assert.ok(
      classpath.includes(jar) || classpath.includes(`${path.posix.dirname(jar)}/*`),
      `${jar} on WARP10_CP ${classpath.join(':')}`,
    );
    // The image's entrypoint moves lib/ into the data volume at the first start: a jar there would stay old.
    assert.ok(!jar.startsWith('/opt/warp10'), jar);
    // Warp 10's own classpath is kept.
    for (const p of [
      '${WARP10_HOME}/etc',
      '${WARP10_HOME}/bin/warp10-${WARP10_VERSION}.jar',
      '${WARP10_HOME}/lib/*',
    ])
      assert.ok(classpath.includes(p), `${p} on WARP10_CP`);
  });

  test('it runs on the Java the extension is compiled for, with the setting Warp 10 needs there', () => {
    const release = Number(/<maven\.compiler\.release>(\d+)</.exec(read('warp10-extension/pom.xml'))?.[1]);
    const javaHome = env(final!).get('JAVA_HOME');
    const jre = copies(final!).find((c) => c.dest === javaHome);
    assert.ok(jre, `JAVA_HOME ${javaHome} is copied in`);
    const version = Number(/^eclipse-temurin:(\d+)-/.exec(stage(jre.from)?.from ?? '')?.[1]);
    assert.ok(version >= release, `Java ${version} runs an extension compiled for ${release}`);
    const standalone = confKeys(read('scripts/warp10/standalone.conf'));
    assert.equal(standalone.get('labelsid.slowimpl'), 'true');
    assert.equal(dockerConf.get('labelsid.slowimpl'), standalone.get('labelsid.slowimpl'));
  });

  test('its read token may call ARCHIVE.FETCH and ARCHIVE.OWNERS, as the local stack’s does', () => {
    const capabilities = [
      `.cap:${dockerConf.get('archive.fetch.capability') ?? 'archive.fetch'}`,
      `.cap:${dockerConf.get('archive.owners.capability') ?? 'archive.owners'}`,
    ];
    const readSpec = (text: string) =>
      /token\.spec = \{[^\n]*'type' 'READ' 'application' 'offloader'[^\n]*\}/.exec(text)?.[0];
    const tokenFile = (compose.services['warp10-tokens']?.command ?? []).join('\n');
    for (const capability of capabilities) {
      assert.ok(readSpec(localTokens)?.includes(`'${capability}' ''`), readSpec(localTokens));
      assert.ok(readSpec(tokenFile)?.includes(`'${capability}' ''`), readSpec(tokenFile));
    }
    assert.equal(dockerConf.get('warp.token.file'), '/tokens/tokens.conf');
  });
});
