// UNIT TEST with FAKE servers: `npm run stack:up` writes .data/stack.env only once both servers are ready,
// whole, and never leaves one without the Warp 10 lines when Warp 10 was expected. (The real start-up runs
// before every suite; this file never touches the real .data/stack.env.)
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import { up, type UpDeps } from '../../scripts/stack.ts';
import { StartTimedOut } from '../../scripts/stack/common.ts';
import { Warp10Unavailable } from '../../scripts/stack/warp10.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'offload-stackup-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const envFile = path.join(dir, 'stack.env');

const TEMPORAL = { address: '127.0.0.1:7233', uiUrl: 'http://127.0.0.1:8233' };
const W10 = { url: 'http://127.0.0.1:8080', readToken: 'r', writeToken: 'w', external: false };

function deps(warp10Up: UpDeps['warp10Up']): UpDeps {
  return {
    warp10Prepare: async () => {},
    temporalUp: (async () => TEMPORAL) as unknown as UpDeps['temporalUp'],
    warp10Up,
    envFile,
  };
}

const slowStart = () =>
  new StartTimedOut('Warp 10 is still not ready after 900s (the bound), though it is still making progress');

describe('stack:up and .data/stack.env (fake servers)', () => {
  beforeEach(() => rmSync(envFile, { force: true }));

  test('written once Warp 10 is ready, with every endpoint', async () => {
    await up(
      { allowMissingWarp10: false },
      deps(async () => {
        assert.equal(existsSync(envFile), false, 'nothing written before Warp 10 is ready');
        return W10;
      }),
    );
    const text = readFileSync(envFile, 'utf8');
    for (const line of [
      'TEMPORAL_ADDRESS=127.0.0.1:7233',
      'WARP10_URL=http://127.0.0.1:8080',
      'WARP10_READ_TOKEN=r',
      'WARP10_WRITE_TOKEN=w',
      'WARP10_MANAGED=local',
    ])
      assert.ok(text.split('\n').includes(line), `${line} in\n${text}`);
  });

  test('a Warp 10 still starting at the bound: the error is passed on and no env file is written', async () => {
    await assert.rejects(
      up(
        { allowMissingWarp10: false },
        deps(async () => {
          throw slowStart();
        }),
      ),
      StartTimedOut,
    );
    assert.equal(existsSync(envFile), false);
  });

  test('even with --allow-missing-warp10, a failed start (not an absent Warp 10) writes nothing', async () => {
    await assert.rejects(
      up(
        { allowMissingWarp10: true },
        deps(async () => {
          throw slowStart();
        }),
      ),
      StartTimedOut,
    );
    assert.equal(existsSync(envFile), false);
  });

  test('an earlier env file without the Warp 10 lines is removed; a complete one is kept', async () => {
    writeFileSync(envFile, 'TEMPORAL_ADDRESS=127.0.0.1:7233\n');
    await assert.rejects(
      up(
        { allowMissingWarp10: false },
        deps(async () => Promise.reject(slowStart())),
      ),
    );
    assert.equal(existsSync(envFile), false, 'the Temporal-only file is gone');

    const complete = 'TEMPORAL_ADDRESS=127.0.0.1:7233\nWARP10_URL=http://127.0.0.1:8080\n';
    writeFileSync(envFile, complete);
    await assert.rejects(
      up(
        { allowMissingWarp10: false },
        deps(async () => Promise.reject(slowStart())),
      ),
    );
    assert.equal(readFileSync(envFile, 'utf8'), complete);
  });

  test('no Warp 10 to be had, and allowed: written with WARP10_UNAVAILABLE', async () => {
    await up(
      { allowMissingWarp10: true },
      deps(async () => {
        throw new Warp10Unavailable('could not download Warp 10');
      }),
    );
    const text = readFileSync(envFile, 'utf8');
    assert.match(text, /^WARP10_UNAVAILABLE=could not download Warp 10$/m);
    assert.doesNotMatch(text, /^WARP10_URL=/m);
  });
});
