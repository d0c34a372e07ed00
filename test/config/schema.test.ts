import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeValue,
  formatIssues,
  formatPath,
  isValidTimeZone,
  offloadConfigSchema,
} from '../../src/config/schema.ts';
import type { OffloadConfig } from '../../src/config/schema.ts';

/** A minimal valid configuration; tests copy and break it. */
function minimal(): Record<string, unknown> {
  return {
    warp10: {
      url: 'http://127.0.0.1:8080',
      readToken: { env: 'WARP10_READ_TOKEN' },
      writeToken: { env: 'WARP10_WRITE_TOKEN' },
    },
    store: { type: 'local', path: '.data/archive' },
    groups: [{ name: 'infra', datasets: [{ name: 'os-cpu', selector: { class: 'os.cpu' } }] }],
  };
}

function problems(input: unknown): string[] {
  const r = offloadConfigSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the config to be rejected');
  return r.success ? [] : formatIssues(r.error.issues);
}

function parsed(input: unknown): OffloadConfig {
  const r = offloadConfigSchema.safeParse(input);
  if (!r.success) assert.fail(formatIssues(r.error.issues).join('\n'));
  return r.data;
}

/** Sets `value` at a dotted/indexed path inside a fresh minimal config. */
function withValue(path: (string | number)[], value: unknown): Record<string, unknown> {
  const cfg = minimal();
  let node: Record<string | number, unknown> = cfg;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (last === undefined) throw new Error('empty path');
  if (value === undefined) delete node[last];
  else node[last] = value;
  return cfg;
}

describe('defaults', () => {
  test('a minimal config gets every default', () => {
    const c = parsed(minimal());
    assert.equal(c.timezone, 'UTC');
    assert.equal(c.warp10.connectTimeoutMs, 10_000);
    assert.equal(c.warp10.requestTimeoutMs, 1_800_000);
    assert.deepEqual(c.temporal, {
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'warp10-offloader',
      uiUrl: 'http://127.0.0.1:8233',
    });
    const g = c.groups[0];
    assert.ok(g);
    assert.equal(g.mode, 'sequential');
    assert.equal(g.concurrency, 4);
    assert.deepEqual(g.datasets[0]?.selector.labels, {});
    assert.equal(g.datasets[0]?.seriesPerBatch, 500);
    // Four lanes and batches of 250,000 points: what BENCHMARKS.md measured fastest for big classes.
    assert.equal(g.datasets[0]?.pointsPerBatch, 250_000);
    assert.equal(g.datasets[0]?.batchConcurrency, 4);
    assert.equal(c.slack, undefined);
  });

  test('s3 store defaults and prefix normalisation', () => {
    const c = parsed(
      withValue(['store'], {
        type: 's3',
        bucket: 'metrics-archive',
        prefix: 'warp10',
        accessKeyId: { env: 'S3_ACCESS_KEY_ID' },
        secretAccessKey: { file: '/run/secrets/s3' },
      }),
    );
    assert.equal(c.store.type, 's3');
    if (c.store.type !== 's3') return;
    assert.equal(c.store.region, 'us-east-1');
    assert.equal(c.store.forcePathStyle, true);
    assert.equal(c.store.prefix, 'warp10/');
    assert.equal(c.store.endpoint, undefined);
  });

  test('empty prefix stays empty', () => {
    const c = parsed(
      withValue(['store'], {
        type: 's3',
        bucket: 'abc',
        accessKeyId: { env: 'A' },
        secretAccessKey: { env: 'B' },
      }),
    );
    assert.equal(c.store.type === 's3' && c.store.prefix, '');
  });

  test('URLs lose their trailing slashes', () => {
    const cfg = withValue(['warp10', 'url'], 'https://warp.example.com/warp10//');
    (cfg as { temporal?: unknown }).temporal = { uiUrl: 'http://ui.local:8233/' };
    const c = parsed(cfg);
    assert.equal(c.warp10.url, 'https://warp.example.com/warp10');
    assert.equal(c.temporal.uiUrl, 'http://ui.local:8233');
    assert.equal(c.temporal.address, '127.0.0.1:7233');
  });

  test('timezone case is fixed for UTC, names are kept', () => {
    assert.equal(parsed(withValue(['timezone'], 'utc')).timezone, 'UTC');
    assert.equal(parsed(withValue(['timezone'], 'Europe/Paris')).timezone, 'Europe/Paris');
  });

  test('slack success summary is enabled by default when present', () => {
    const c = parsed(
      withValue(['slack'], {
        token: { env: 'SLACK_BOT_TOKEN' },
        channel: '#ops',
        successSummary: { channel: '#ops-ok' },
      }),
    );
    assert.equal(c.slack?.successSummary?.enabled, true);
    assert.equal(c.slack?.successSummary?.channel, '#ops-ok');
  });

  test('a group may rely on discovery only', () => {
    const cfg = minimal();
    cfg.groups = [{ name: 'clients', discover: { selector: { class: '~client\\..*' }, byLabel: 'owner' } }];
    const c = parsed(cfg);
    assert.equal(c.groups[0]?.discover?.byLabel, 'owner');
    assert.equal(c.groups[0]?.discover?.seriesPerBatch, 500);
    assert.deepEqual(c.groups[0]?.datasets, []);
  });
});

describe('invalid fields: path, expected, found', () => {
  const cases: Array<[string, (string | number)[], unknown, string]> = [
    [
      'non-integer batch size',
      ['groups', 0, 'datasets', 0, 'seriesPerBatch'],
      'abc',
      'groups[0].datasets[0].seriesPerBatch: expected an integer between 1 and 100000, found "abc"',
    ],
    [
      'batch size too large',
      ['groups', 0, 'datasets', 0, 'seriesPerBatch'],
      100_001,
      'groups[0].datasets[0].seriesPerBatch: expected an integer between 1 and 100000, found 100001',
    ],
    [
      'fractional concurrency',
      ['groups', 0, 'concurrency'],
      1.5,
      'groups[0].concurrency: expected an integer between 1 and 256, found 1.5',
    ],
    [
      'unknown mode',
      ['groups', 0, 'mode'],
      'Parallel',
      'groups[0].mode: expected "parallel" or "sequential", found "Parallel"',
    ],
    [
      'bad group name',
      ['groups', 0, 'name'],
      'Infra',
      'groups[0].name: expected a group name (1 to 63 characters: a-z, 0-9, _, -, starting with a letter or digit), found "Infra"',
    ],
    [
      'bad dataset name',
      ['groups', 0, 'datasets', 0, 'name'],
      '-cpu',
      'groups[0].datasets[0].name: expected a dataset name (1 to 127 characters: a-z, 0-9, ., _, -, starting with a letter or digit), found "-cpu"',
    ],
    [
      'unknown time zone',
      ['timezone'],
      'Europe/Pariss',
      'timezone: expected an IANA time zone name such as UTC or Europe/Paris, found "Europe/Pariss"',
    ],
    [
      'fixed offset time zone',
      ['timezone'],
      '+01:00',
      'timezone: expected an IANA time zone name such as UTC or Europe/Paris, found "+01:00"',
    ],
    [
      'non-http URL',
      ['warp10', 'url'],
      'ftp://warp',
      'warp10.url: expected the Warp 10 base URL, an http(s) URL (http:// or https://, without credentials, query or fragment), found "ftp://warp"',
    ],
    [
      'missing required field',
      ['warp10', 'url'],
      undefined,
      'warp10.url: expected the Warp 10 base URL, an http(s) URL (http:// or https://, without credentials, query or fragment), found nothing (the key is missing)',
    ],
    [
      'section of the wrong type',
      ['warp10'],
      'http://x',
      'warp10: expected a mapping (key: value), found "http://x"',
    ],
    ['unknown store type', ['store', 'type'], 'gcs', 'store.type: expected "local" or "s3", found "gcs"'],
    [
      'invalid regex in class',
      ['groups', 0, 'datasets', 0, 'selector', 'class'],
      '~os.(cpu',
      'groups[0].datasets[0].selector.class: expected a valid regular expression after ~, found "~os.(cpu"',
    ],
    [
      'empty class',
      ['groups', 0, 'datasets', 0, 'selector', 'class'],
      '',
      'groups[0].datasets[0].selector.class: expected a class selector: an exact value or ~regex, non-empty, without control characters, found ""',
    ],
    [
      'control character in class',
      ['groups', 0, 'datasets', 0, 'selector', 'class'],
      'os\ncpu',
      'groups[0].datasets[0].selector.class: expected a class selector: an exact value or ~regex, non-empty, without control characters, found "os\\ncpu"',
    ],
    [
      'numeric label value',
      ['groups', 0, 'datasets', 0, 'selector', 'labels'],
      { dc: 1 },
      "groups[0].datasets[0].selector.labels.dc: expected a label selector: an exact value or ~regex, non-empty, without control characters (quote numbers, e.g. '1'), found 1",
    ],
    [
      'invalid regex in label',
      ['groups', 0, 'datasets', 0, 'selector', 'labels'],
      { host: '~web-[' },
      'groups[0].datasets[0].selector.labels.host: expected a valid regular expression after ~, found "~web-["',
    ],
    [
      'template not .mc2',
      ['groups', 0, 'datasets', 0, 'templates'],
      { export: 'export.txt' },
      'groups[0].datasets[0].templates.export: expected a path to a WarpScript file ending in .mc2, found "export.txt"',
    ],
    [
      'empty group list',
      ['groups'],
      [],
      'groups: expected a list of at least one group, found a list of 0 items',
    ],
    [
      'group without datasets',
      ['groups', 0, 'datasets'],
      [],
      'groups[0].datasets: expected at least one dataset, or a discover section, found neither',
    ],
    [
      'bad temporal address',
      ['temporal'],
      { address: 'localhost' },
      'temporal.address: expected a host:port address such as 127.0.0.1:7233, found "localhost"',
    ],
  ];
  for (const [name, path, value, line] of cases) {
    test(name, () => {
      const lines = problems(withValue(path, value));
      assert.ok(
        lines.some((l) => l === line || l.startsWith(`${line} (`)),
        `missing:\n  ${line}\ngot:\n  ${lines.join('\n  ')}`,
      );
    });
  }

  test('every invalid field is reported in one pass', () => {
    const cfg = minimal();
    cfg.timezone = 'Nowhere/Land';
    cfg.groups = [
      {
        name: 'infra',
        concurrency: 0,
        datasets: [
          { name: 'a', selector: { class: 'a' }, seriesPerBatch: 0 },
          { name: 'a', selector: { class: 'b' } },
        ],
      },
      { name: 'infra', datasets: [{ name: 'c', selector: { class: '' } }] },
    ];
    const lines = problems(cfg);
    const paths = lines.map((l) => l.slice(0, l.indexOf(':')));
    assert.deepEqual(paths.sort(), [
      'groups[0].concurrency',
      'groups[0].datasets[0].seriesPerBatch',
      'groups[0].datasets[1].name',
      'groups[1].datasets[0].selector.class',
      'groups[1].name',
      'timezone',
    ]);
    assert.ok(
      lines.includes(
        'groups[1].name: expected a unique group name, found "infra" again (already used at index 0)',
      ),
    );
  });

  test('unknown keys are refused, with a suggestion', () => {
    const cfg = minimal();
    (cfg.warp10 as Record<string, unknown>).raedToken = { env: 'X' };
    cfg.extra = true;
    const lines = problems(cfg);
    assert.ok(
      lines.includes(
        'warp10.raedToken: expected one of the keys url, readToken, writeToken, connectTimeoutMs, requestTimeoutMs, maxConcurrentRequests, caFile, found an unknown key (did you mean readToken?)',
      ),
      lines.join('\n'),
    );
    assert.ok(lines.some((l) => l.startsWith('extra: expected one of the keys timezone, warp10,')));
  });

  test('unknown keys in a dataset are refused', () => {
    const lines = problems(withValue(['groups', 0, 'datasets', 0, 'seriesPerBtach'], 10));
    assert.ok(
      lines.some((l) => l.startsWith('groups[0].datasets[0].seriesPerBtach: expected one of the keys')),
    );
  });

  test('non-identifier label names are quoted in paths', () => {
    const lines = problems(withValue(['groups', 0, 'datasets', 0, 'selector', 'labels'], { '.app': '' }));
    assert.ok(
      lines.some((l) => l.startsWith('groups[0].datasets[0].selector.labels[".app"]: expected')),
      lines.join(),
    );
  });
});

describe('secrets are references, never values', () => {
  const token = 'sk-live-0123456789abcdef';

  test('a literal token is refused and not echoed', () => {
    const lines = problems(withValue(['warp10', 'readToken'], token));
    assert.deepEqual(lines, [
      'warp10.readToken: expected a reference { env: NAME } or { file: PATH }, found a string (tokens must not be written in the config file)',
    ]);
  });

  test('a numeric token is refused and not echoed', () => {
    const lines = problems(withValue(['warp10', 'writeToken'], 123456789));
    assert.equal(lines.length, 1);
    assert.ok(!lines[0]?.includes('123456789'));
    assert.match(lines[0] ?? '', /found a number \(tokens must not be written/);
  });

  test('a token pasted as an env name is not echoed', () => {
    const lines = problems(withValue(['warp10', 'readToken'], { env: token }));
    assert.equal(lines.length, 1);
    assert.ok(!lines.join().includes(token));
    assert.match(lines[0] ?? '', /^warp10\.readToken(\.env)?: expected .*environment variable name/);
  });

  test('a literal S3 secret or Slack token is refused and not echoed', () => {
    const cfg = withValue(['store'], {
      type: 's3',
      bucket: 'metrics',
      accessKeyId: token,
      secretAccessKey: { env: 'S3_SECRET' },
    });
    cfg.slack = { token, channel: '#ops' };
    const lines = problems(cfg);
    assert.deepEqual(
      lines.map((l) => l.slice(0, l.indexOf(':'))),
      ['store.accessKeyId', 'slack.token'],
    );
    assert.ok(!lines.join('\n').includes(token));
  });

  test('both env and file is refused', () => {
    const lines = problems(withValue(['warp10', 'readToken'], { env: 'A', file: '/a' }));
    assert.deepEqual(lines, [
      'warp10.readToken: expected a reference { env: NAME } or { file: PATH }, found both env and file',
    ]);
  });

  test('credentials in a URL are not echoed', () => {
    const lines = problems(withValue(['warp10', 'url'], 'http://user:hunter2@warp:8080'));
    assert.equal(lines.length, 1);
    assert.ok(!lines.join().includes('hunter2'), lines.join());
  });
});

describe('slack section', () => {
  test('token without channel', () => {
    const lines = problems(withValue(['slack'], { token: { env: 'SLACK_BOT_TOKEN' } }));
    assert.deepEqual(lines, [
      "slack.channel: expected a channel such as '#ops-archive' to go with token, found nothing (the key is missing)",
    ]);
  });

  test('token and webhook together', () => {
    const lines = problems(
      withValue(['slack'], { token: { env: 'T' }, channel: '#ops', webhookUrl: { env: 'W' } }),
    );
    assert.deepEqual(lines, ['slack.webhookUrl: expected either token + channel or webhookUrl, found both']);
  });

  test('an empty slack section', () => {
    const lines = problems(withValue(['slack'], {}));
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^slack: expected token \+ channel or webhookUrl/);
  });

  test('webhook with a success summary channel', () => {
    const lines = problems(
      withValue(['slack'], { webhookUrl: { env: 'W' }, successSummary: { channel: '#ok' } }),
    );
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^slack\.successSummary\.channel: expected no channel with webhookUrl/);
  });

  test('webhook alone is valid, with an apiUrl override', () => {
    const c = parsed(
      withValue(['slack'], { webhookUrl: { env: 'W' }, apiUrl: 'http://127.0.0.1:9999/api/' }),
    );
    assert.deepEqual(c.slack?.webhookUrl, { env: 'W' });
    assert.equal(c.slack?.apiUrl, 'http://127.0.0.1:9999/api');
  });
});

describe('helpers', () => {
  test('formatPath', () => {
    assert.equal(
      formatPath(['groups', 0, 'datasets', 2, 'seriesPerBatch']),
      'groups[0].datasets[2].seriesPerBatch',
    );
    assert.equal(formatPath(['labels', 'a b']), 'labels["a b"]');
    assert.equal(formatPath([]), '(top level)');
  });

  test('describeValue', () => {
    assert.equal(describeValue('abc'), '"abc"');
    assert.equal(describeValue(undefined), 'nothing (the key is missing)');
    assert.equal(describeValue([1, 2]), 'a list of 2 items');
    assert.equal(describeValue({ a: 1 }), 'a mapping with keys a');
    assert.equal(describeValue('x'.repeat(200)).length, 82);
    assert.equal(describeValue('https://u:p@h/x'), '"https://***@h/x"');
  });

  test('isValidTimeZone', () => {
    assert.equal(isValidTimeZone('Europe/Paris'), true);
    assert.equal(isValidTimeZone('America/Asuncion'), true);
    assert.equal(isValidTimeZone('Mars/Olympus'), false);
    assert.equal(isValidTimeZone('-05:00'), false);
    assert.equal(isValidTimeZone(''), false);
  });
});
