// The Warp 10 install route of the local stack: a distribution tarball (WARP10_DIST) extracted once per
// sha256, clear errors for a wrong one, and the stack's own endpoint recognised as local.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, StackError, TOOLS } from '../../../scripts/stack/common.ts';
import { installWarp10 } from '../../../scripts/stack/warp10.ts';

const SHARED_DIST = path.resolve(ROOT, '..', 'shared', 'warp10', 'warp10-3.5.0.tar.gz');
const INSTALLS = path.join(TOOLS, 'warp10');

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'offload-w10dist-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function installError(dist: string): Promise<StackError> {
  const saved = process.env.WARP10_DIST;
  process.env.WARP10_DIST = dist;
  try {
    await installWarp10();
  } catch (err) {
    assert.ok(err instanceof StackError, `expected a StackError, got ${String(err)}`);
    return err;
  } finally {
    if (saved === undefined) delete process.env.WARP10_DIST;
    else process.env.WARP10_DIST = saved;
  }
  assert.fail(`WARP10_DIST=${dist} was accepted`);
}

const installs = () => (readdirSync(INSTALLS, { withFileTypes: true }) ?? []).map((e) => e.name).sort();

describe('installWarp10 from WARP10_DIST', () => {
  before(() => mkdirSync(INSTALLS, { recursive: true }));

  test('a path that does not exist names the file and what was expected, installs nothing', async () => {
    const before = installs();
    const missing = path.join(dir, 'nope', 'warp10-3.5.0.tar.gz');
    const err = await installError(missing);
    assert.equal(
      err.message,
      `WARP10_DIST=${missing}: no such file or folder (${missing}); expected a warp10-<version>.tar.gz or its extracted folder.`,
    );
    assert.deepEqual(installs(), before);
  });

  test('a file that is not a tarball is refused with tar’s reason', async () => {
    const before = installs();
    const file = path.join(dir, 'warp10-3.5.0.tar.gz');
    writeFileSync(file, 'this is not a tarball\n');
    const err = await installError(file);
    assert.match(
      err.message,
      new RegExp(
        `^WARP10_DIST=${file}: ${file} is not a readable gzip tar archive \\(.*gzip.*\\); expected a warp10-<version>\\.tar\\.gz\\.$`,
      ),
    );
    assert.deepEqual(installs(), before);
  });

  test('a tarball without the server jar is refused', async () => {
    const before = installs();
    mkdirSync(path.join(dir, 'tree', 'warp10-9.9.9', 'lib'), { recursive: true });
    writeFileSync(path.join(dir, 'tree', 'warp10-9.9.9', 'lib', 'README'), 'no jar here\n');
    const tarball = path.join(dir, 'nojar.tar.gz');
    assert.equal(spawnSync('tar', ['-czf', tarball, '-C', path.join(dir, 'tree'), 'warp10-9.9.9']).status, 0);
    const err = await installError(tarball);
    assert.equal(
      err.message,
      `WARP10_DIST=${tarball}: ${tarball} holds no warp10-*/lib/warp10-*.jar (nor bin/); expected a Warp 10 distribution tarball.`,
    );
    assert.deepEqual(installs(), before);
  });

  test('an extracted folder without the jar is refused', async () => {
    const empty = path.join(dir, 'empty-dist');
    mkdirSync(empty);
    const err = await installError(empty);
    assert.match(err.message, /the folder holds no lib\/warp10-\*\.jar/);
  });

  test('an unreachable URL is one line naming WARP10_DIST and WARP10_URL', async () => {
    const err = await installError('http://127.0.0.1:9/warp10-3.5.0.tar.gz');
    assert.equal(err.message.split('\n').length, 1);
    assert.match(
      err.message,
      /^could not download Warp 10 from http:\/\/127\.0\.0\.1:9\/warp10-3\.5\.0\.tar\.gz \(.+\)\. Set WARP10_DIST .* or WARP10_URL /,
    );
  });

  test('the shared distribution is extracted once, keyed by its sha256', async (t) => {
    if (!statSync(SHARED_DIST, { throwIfNoEntry: false })) {
      t.skip(`no distribution at ${SHARED_DIST}`);
      return;
    }
    const saved = process.env.WARP10_DIST;
    process.env.WARP10_DIST = SHARED_DIST;
    try {
      const jar = await installWarp10();
      assert.match(
        jar,
        /\/\.tools\/warp10\/325d156b3d70b591deb472a0b31110c7e64152358643dc611ce8b4b4cc262318\/warp10-3\.5\.0\/lib\/warp10-3\.5\.0\.jar$/,
      );
      const marker = path.join(
        INSTALLS,
        '325d156b3d70b591deb472a0b31110c7e64152358643dc611ce8b4b4cc262318',
        '.installed',
      );
      const first = statSync(marker).mtimeMs;
      assert.equal(await installWarp10(), jar);
      assert.equal(statSync(marker).mtimeMs, first, 'the same tarball was extracted again');
    } finally {
      if (saved === undefined) delete process.env.WARP10_DIST;
      else process.env.WARP10_DIST = saved;
    }
  });
});

describe('stack:status', () => {
  test('the endpoint the stack wrote itself, sourced into the environment, is still the local one', (t) => {
    if (process.env.WARP10_MANAGED !== 'local') {
      t.skip('the stack runs against an external Warp 10');
      return;
    }
    // Exactly what `set -a; . .data/stack.env` leaves in a shell.
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/stack.ts', 'status'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env },
    });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^warp10: +running \(pid \d+\)$/m);
    const other = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/stack.ts', 'status'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, WARP10_URL: 'http://127.0.0.1:9' },
    });
    assert.match(other.stdout, /^warp10: +external http:\/\/127\.0\.0\.1:9, not answering$/m);
  });
});
