import { spawnSync } from 'node:child_process';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseConfig } from '../../src/config/load.ts';
import { SecretError, checkSecrets, resolveSecret, secretRefs } from '../../src/config/secrets.ts';
import { readableCopy } from '../support/readable-copy.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'offload-secrets-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const VAR = 'OFFLOAD_TEST_SECRET_VAR';

function secretError(fn: () => unknown): SecretError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SecretError, `expected a SecretError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a SecretError, nothing was thrown');
}

describe('resolveSecret', () => {
  test('reads and trims an environment variable', () => {
    process.env[VAR] = '  tok-123\n';
    try {
      assert.equal(resolveSecret({ env: VAR }, 'warp10.readToken'), 'tok-123');
    } finally {
      delete process.env[VAR];
    }
  });

  test('an unset variable names the variable and the field', () => {
    delete process.env[VAR];
    const err = secretError(() => resolveSecret({ env: VAR }, 'warp10.readToken'));
    assert.equal(
      err.message,
      `environment variable ${VAR} is not set (needed for warp10.readToken): export it, or change warp10.readToken in the config`,
    );
    assert.equal(err.what, 'warp10.readToken');
    assert.deepEqual(err.ref, { env: VAR });
  });

  test('an empty variable is an error', () => {
    process.env[VAR] = '   ';
    try {
      const err = secretError(() => resolveSecret({ env: VAR }, 'slack.token'));
      assert.equal(
        err.message,
        `environment variable ${VAR} is empty (needed for slack.token): set it to the secret's value`,
      );
    } finally {
      delete process.env[VAR];
    }
  });

  test('reads and trims a file', () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'file-secret\n');
    assert.equal(resolveSecret({ file }, 'warp10.writeToken'), 'file-secret');
  });

  test('a missing file names the path and the field', () => {
    const file = join(dir, 'missing');
    const err = secretError(() => resolveSecret({ file }, 'store.secretAccessKey'));
    assert.equal(
      err.message,
      `secret file ${file} does not exist (needed for store.secretAccessKey): create it with the secret, or fix store.secretAccessKey in the config`,
    );
  });

  test('an empty file is an error', () => {
    const file = join(dir, 'empty');
    writeFileSync(file, '\n\n');
    const err = secretError(() => resolveSecret({ file }, 'warp10.writeToken'));
    assert.equal(
      err.message,
      `secret file ${file} is empty (needed for warp10.writeToken): write the secret into it`,
    );
  });

  test('a directory is an error', () => {
    const err = secretError(() => resolveSecret({ file: dir }, 'warp10.writeToken'));
    assert.match(
      err.message,
      /is a directory \(needed for warp10\.writeToken\): name the file holding the secret, not its directory, in warp10\.writeToken$/,
    );
  });

  test('an unreadable file is an error that does not show its content', () => {
    const file = join(dir, 'locked');
    writeFileSync(file, 'locked-secret');
    chmodSync(file, 0o000);
    if (process.getuid?.() !== 0) {
      const err = secretError(() => resolveSecret({ file }, 'warp10.writeToken'));
      assert.match(err.message, /cannot be read \(permission denied\)/);
      assert.ok(!err.message.includes('locked-secret'));
      return;
    }
    // Root reads any file: resolve it in a child process that runs as nobody, on a compiled copy of the
    // module in the test's own directory (nobody may not reach the checkout, nor tsx in node_modules).
    chmodSync(dir, 0o755);
    const module = readableCopy(
      fileURLToPath(new URL('../../src/config/secrets.ts', import.meta.url)),
      join(dir, 'copy'),
    );
    const res = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { resolveSecret } = await import(${JSON.stringify(pathToFileURL(module).href)});
         try { resolveSecret({ file: ${JSON.stringify(file)} }, 'warp10.writeToken'); console.log('READ'); }
         catch (err) { console.log(err.name + ': ' + err.message); }`,
      ],
      { uid: 65534, gid: 65534, encoding: 'utf8', cwd: dir },
    );
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^SecretError: .*cannot be read \(permission denied\)/);
    assert.ok(!res.stdout.includes('locked-secret'));
  });
});

describe('secretRefs and checkSecrets', () => {
  const config = parseConfig(
    {
      warp10: { url: 'http://w', readToken: { env: `${VAR}_R` }, writeToken: { env: `${VAR}_W` } },
      store: {
        type: 's3',
        bucket: 'bucket',
        accessKeyId: { env: `${VAR}_AK` },
        secretAccessKey: { env: `${VAR}_SK` },
      },
      slack: { webhookUrl: { env: `${VAR}_HOOK` } },
      groups: [{ name: 'g', datasets: [{ name: 'd', selector: { class: 'c' } }] }],
    },
    'inline',
  );

  test('lists every reference with its field', () => {
    assert.deepEqual(
      secretRefs(config).map((r) => r.what),
      [
        'warp10.readToken',
        'warp10.writeToken',
        'store.accessKeyId',
        'store.secretAccessKey',
        'slack.webhookUrl',
      ],
    );
  });

  test('checkSecrets reports every missing secret at once', () => {
    process.env[`${VAR}_R`] = 'r';
    process.env[`${VAR}_AK`] = 'ak';
    try {
      const err = secretError(() => checkSecrets(config));
      assert.match(err.message, /^missing secrets:/);
      assert.match(err.message, new RegExp(`${VAR}_W is not set \\(needed for warp10\\.writeToken\\)`));
      assert.match(err.message, new RegExp(`${VAR}_SK is not set`));
      assert.match(err.message, new RegExp(`${VAR}_HOOK is not set`));
      assert.doesNotMatch(err.message, new RegExp(`${VAR}_R is`));
    } finally {
      delete process.env[`${VAR}_R`];
      delete process.env[`${VAR}_AK`];
    }
  });

  test('checkSecrets passes when everything resolves', () => {
    const names = ['R', 'W', 'AK', 'SK', 'HOOK'].map((s) => `${VAR}_${s}`);
    for (const n of names) process.env[n] = 'x';
    try {
      assert.doesNotThrow(() => checkSecrets(config));
    } finally {
      for (const n of names) delete process.env[n];
    }
  });
});
