import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  DEFAULT_CONFIG_PATH,
  findDataset,
  findGroup,
  loadConfig,
  parseConfig,
} from '../../src/config/load.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'offload-config-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError, nothing was thrown');
}

/** Runs `fn` with OFFLOAD_CONFIG set to `value` (or unset), restoring it afterwards. */
function withEnv<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.OFFLOAD_CONFIG;
  if (value === undefined) delete process.env.OFFLOAD_CONFIG;
  else process.env.OFFLOAD_CONFIG = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.OFFLOAD_CONFIG;
    else process.env.OFFLOAD_CONFIG = saved;
  }
}

const VALID_YAML = `
warp10:
  url: http://127.0.0.1:8080
  readToken: { env: WARP10_READ_TOKEN }
  writeToken: { env: WARP10_WRITE_TOKEN }
store: { type: local, path: .data/archive }
groups:
  - name: infra
    datasets:
      - { name: os-cpu, selector: { class: os.cpu } }
`;

describe('shipped config files', () => {
  test('config/local.yaml is valid and matches the demo layout', () => {
    const c = loadConfig('config/local.yaml');
    assert.equal(c.timezone, 'UTC');
    assert.equal(c.warp10.url, 'http://127.0.0.1:8080');
    assert.deepEqual(c.warp10.readToken, { env: 'WARP10_READ_TOKEN' });
    assert.deepEqual(c.warp10.writeToken, { env: 'WARP10_WRITE_TOKEN' });
    assert.deepEqual(c.store, { type: 'local', path: '.data/archive' });
    assert.equal(c.slack, undefined);
    assert.deepEqual(
      c.groups.map((g) => [g.name, g.mode, g.datasets.map((d) => `${d.name}=${d.selector.class}`)]),
      [
        ['infra', 'parallel', ['os-cpu=os.cpu', 'os-mem=os.mem', 'net-traffic=net.bytes']],
        ['clients', 'sequential', ['client-http=client.http.requests', 'client-jvm=~client.jvm.*']],
      ],
    );
    assert.equal(c.groups[0]?.concurrency, 4);
  });

  test('the default path is config/local.yaml', () => {
    assert.equal(DEFAULT_CONFIG_PATH, 'config/local.yaml');
    const c = withEnv(undefined, () => loadConfig());
    assert.equal(c.groups[0]?.name, 'infra');
  });

  test('config/offload.example.yaml is valid: S3, Slack, Europe/Paris, discovery by owner', () => {
    const c = loadConfig('config/offload.example.yaml');
    assert.equal(c.timezone, 'Europe/Paris');
    assert.equal(c.store.type, 's3');
    if (c.store.type === 's3') {
      assert.equal(c.store.endpoint, 'https://cellar-c2.services.clever-cloud.com');
      assert.equal(c.store.prefix, 'warp10/');
      assert.deepEqual(c.store.secretAccessKey, { env: 'S3_SECRET_ACCESS_KEY' });
    }
    assert.deepEqual(c.slack?.token, { env: 'SLACK_BOT_TOKEN' });
    assert.equal(c.slack?.channel, '#ops-archive');
    assert.equal(c.slack?.successSummary?.channel, '#ops-archive-ok');
    const clients = c.groups.find((g) => g.name === 'clients');
    assert.equal(clients?.discover?.byLabel, 'owner');
  });

  // The configurations the documentation shows: README.md's smallest one, docs/CONFIGURATION.md's whole one.
  const docYaml = (file: string, after: string) => {
    const text = readFileSync(file, 'utf8');
    const block = /```yaml\n([\s\S]*?)```/.exec(text.slice(text.indexOf(after)))?.[1];
    assert.ok(block, `${file}: a yaml block after "${after}"`);
    return write(`${file.replace(/\W/g, '-')}.yaml`, block);
  };

  test("README's smallest configuration is valid; every other field takes its default", () => {
    const c = loadConfig(docYaml('README.md', 'The smallest configuration'));
    assert.equal(c.timezone, 'UTC');
    assert.equal(c.temporal.taskQueue, 'warp10-offloader');
    assert.deepEqual(c.lateData, { lateness: '6 hours', recheckMonths: 2 });
    assert.deepEqual(c.groups[0]?.datasets[0]?.selector, { class: 'os.cpu', labels: { dc: 'par1' } });
  });

  test("docs/CONFIGURATION.md's example is valid", () => {
    const c = loadConfig(docYaml('docs/CONFIGURATION.md', '# Configuration'));
    assert.equal(c.timezone, 'Europe/Paris');
    assert.equal(c.store.type, 's3');
  });
});

describe('loadConfig', () => {
  test('reads YAML from OFFLOAD_CONFIG', () => {
    const path = write('env.yaml', VALID_YAML);
    const c = withEnv(path, () => loadConfig());
    assert.equal(c.groups[0]?.datasets[0]?.name, 'os-cpu');
  });

  test('an explicit path wins over OFFLOAD_CONFIG', () => {
    const good = write('explicit.yml', VALID_YAML);
    const c = withEnv(join(dir, 'does-not-exist.yaml'), () => loadConfig(good));
    assert.equal(c.store.type, 'local');
  });

  test('reads JSON', () => {
    const path = write(
      'c.json',
      JSON.stringify({
        timezone: 'Europe/Paris',
        warp10: { url: 'http://w:8080/', readToken: { env: 'R' }, writeToken: { file: '/run/w' } },
        store: { type: 'local', path: '/tmp/x' },
        groups: [{ name: 'g', datasets: [{ name: 'd', selector: { class: 'c' } }] }],
      }),
    );
    const c = loadConfig(path);
    assert.equal(c.timezone, 'Europe/Paris');
    assert.equal(c.warp10.url, 'http://w:8080');
  });

  test('a missing file names the path and OFFLOAD_CONFIG', () => {
    const missing = join(dir, 'nope.yaml');
    const err = configError(() => withEnv(missing, () => loadConfig()));
    assert.ok(err.message.includes(missing), err.message);
    assert.match(err.message, /does not exist/);
    assert.match(err.message, /OFFLOAD_CONFIG/);
  });

  test('an unsupported extension is refused', () => {
    const path = write('c.toml', 'x = 1');
    const err = configError(() => loadConfig(path));
    assert.match(err.message, /must end in \.yaml, \.yml or \.json/);
  });

  test('an empty file is reported as empty', () => {
    const path = write('empty.yaml', '# nothing here\n');
    const err = configError(() => loadConfig(path));
    assert.match(err.message, /it is empty/);
  });

  test('invalid fields: file name, every field, a hint', () => {
    const path = write(
      'bad.yaml',
      VALID_YAML.replace(
        '{ name: os-cpu, selector: { class: os.cpu } }',
        '{ name: os-cpu, selector: { class: os.cpu }, seriesPerBatch: abc }',
      ).replace('name: infra', 'name: infra\n    mode: fast'),
    );
    const err = configError(() => loadConfig(path));
    assert.deepEqual(err.problems, [
      'groups[0].mode: expected "parallel" or "sequential", found "fast"',
      'groups[0].datasets[0].seriesPerBatch: expected an integer between 1 and 100000, found "abc"',
    ]);
    const lines = err.message.split('\n');
    assert.equal(lines[0], `Invalid configuration in ${path} (2 problems):`);
    assert.equal(lines[1], '  - groups[0].mode: expected "parallel" or "sequential", found "fast"');
    assert.match(
      lines[3] ?? '',
      /^Fix these fields in .*bad\.yaml and run again; config\/offload\.example\.yaml documents/,
    );
    assert.equal(err.source, path);
  });

  test('a literal token in the file is refused and not echoed', () => {
    const token = 'AbCdEf0123456789-very-secret';
    const path = write('token.yaml', VALID_YAML.replace('{ env: WARP10_READ_TOKEN }', token));
    const err = configError(() => loadConfig(path));
    assert.ok(!err.message.includes(token), err.message);
    assert.match(
      err.message,
      /warp10\.readToken: expected a reference \{ env: NAME \} or \{ file: PATH \}, found a string \(tokens must not be written in the config file\)/,
    );
  });

  test('YAML syntax errors give a position, not the offending text', () => {
    const token = 'SeCrEt-token-value';
    const path = write('syntax.yaml', `warp10:\n  readToken: "${token}\n  url: [\n`);
    const err = configError(() => loadConfig(path));
    assert.match(err.message, /is not valid YAML/);
    assert.match(err.message, /line \d+, column \d+/);
    assert.ok(!err.message.includes(token), err.message);
  });

  test('duplicate YAML keys are errors', () => {
    const path = write('dup.yaml', VALID_YAML + '\nstore: { type: local, path: other }\n');
    const err = configError(() => loadConfig(path));
    assert.match(err.message, /is not valid YAML/);
  });

  test('JSON syntax errors do not quote the file', () => {
    const token = 'SeCrEt-json-token';
    const path = write('bad.json', `{ "warp10": { "readToken": ${token} } }`);
    const err = configError(() => loadConfig(path));
    assert.match(err.message, /is not valid JSON/);
    assert.ok(!err.message.includes(token), err.message);
  });
});

describe('parseConfig and lookups', () => {
  const config = parseConfig(
    {
      warp10: { url: 'http://w', readToken: { env: 'R' }, writeToken: { env: 'W' } },
      store: { type: 'local', path: 'x' },
      groups: [
        { name: 'infra', datasets: [{ name: 'os-cpu', selector: { class: 'os.cpu' } }] },
        { name: 'clients', discover: { selector: { class: '~client.*' }, byLabel: 'owner' } },
      ],
    },
    'inline',
  );

  test('parseConfig names its source in errors', () => {
    const err = configError(() => parseConfig({ groups: [] }, 'inline test'));
    assert.match(err.message, /^Invalid configuration in inline test \(\d+ problems\):/);
    assert.ok(
      err.problems.includes('groups: expected a list of at least one group, found a list of 0 items'),
    );
    assert.ok(err.problems.some((p) => p.startsWith('warp10: expected a mapping')));
  });

  test('findGroup and findDataset', () => {
    assert.equal(findGroup(config, 'clients').discover?.byLabel, 'owner');
    const { group, dataset } = findDataset(config, 'infra', 'os-cpu');
    assert.equal(group.name, 'infra');
    assert.equal(dataset.selector.class, 'os.cpu');
  });

  test('unknown group or dataset lists what exists', () => {
    assert.match(configError(() => findGroup(config, 'nope')).message, /configured groups: infra, clients/);
    assert.match(configError(() => findDataset(config, 'infra', 'os-mem')).message, /its datasets: os-cpu/);
    assert.match(
      configError(() => findDataset(config, 'clients', 'acme')).message,
      /lists no datasets \(datasets discovered by label owner are not listed\)/,
    );
  });
});
