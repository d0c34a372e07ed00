// UNIT TEST with FAKES of a starting server (a fake clock, process, log and CPU counter): how the local stack
// waits for a slow start (a Warp 10 loading millions of series' metadata takes minutes and logs nothing
// meanwhile), and how it writes .data/stack.env. The real start-up runs in every suite that uses the stack.
import assert from 'node:assert/strict';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ExitedDuringStart,
  StartStalled,
  StartTimedOut,
  dropIncompleteEnvFile,
  waitWhileProgressing,
  writeEnvFile,
  type ProgressProbes,
  type ProgressWait,
} from '../../../scripts/stack/common.ts';

const S = 1000;
const LOG = '/var/fake/warp10.log';

/** A fake world: virtual time advanced by sleep, and a process whose state is a function of that time. */
function world(p: {
  /** The server is ready from this time on (never if undefined). */
  readyAt?: number;
  /** The process dies at this time. */
  diesAt?: number;
  /** Changes whenever the log or data files change. */
  files?: (t: number) => string;
  /** CPU time used so far (ms), or undefined where it cannot be read. */
  cpu?: (t: number) => number | undefined;
}) {
  let t = 0;
  const reports: string[] = [];
  const probes: ProgressProbes = {
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
    isAlive: () => p.diesAt === undefined || t < p.diesAt,
    fingerprint: () => (p.files ?? (() => 'same'))(t),
    cpuMs: () => (p.cpu ?? (() => undefined))(t),
    tail: () => 'Loading the directory...\nException in thread "main" java.lang.OutOfMemoryError',
    report: (m) => reports.push(m),
  };
  const opts: ProgressWait = {
    what: 'Fake Warp 10',
    log: LOG,
    pid: 4242,
    watch: [LOG],
    check: async () => (p.readyAt !== undefined && t >= p.readyAt ? true : 'FIND answered HTTP 500'),
    stallMs: 60 * S,
    maxMs: 900 * S,
    pollMs: 1 * S,
    howToGoOn: 'run npm run stack:up again',
  };
  return { probes, opts, reports, elapsed: () => t };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  assert.fail('the wait succeeded');
}

describe('waiting for a slow server start (fake clock and process)', () => {
  test('a start that logs every 10 s is waited for past 90 s (ready at 150 s)', async () => {
    const w = world({ readyAt: 150 * S, files: (t) => `log-size-${Math.floor(t / (10 * S))}` });
    await waitWhileProgressing(w.opts, w.probes);
    assert.equal(w.elapsed(), 150 * S);
    assert.ok(
      w.reports.some((r) => /^Fake Warp 10: still starting after \d+s .*FIND answered HTTP 500/.test(r)),
      `a "still starting" line while waiting: ${w.reports.join(' / ')}`,
    );
  });

  test('a silent log with a busy CPU (loading metadata) counts as progress', async () => {
    const w = world({ readyAt: 200 * S, cpu: (t) => t / 2 });
    await waitWhileProgressing(w.opts, w.probes);
    assert.equal(w.elapsed(), 200 * S);
  });

  test('a process that dies fails the wait at once, with its log tail', async () => {
    const w = world({ diesAt: 30 * S, files: (t) => String(t) });
    const err = await rejection(waitWhileProgressing(w.opts, w.probes));
    assert.ok(err instanceof ExitedDuringStart, `${err.name}: ${err.message}`);
    assert.ok(w.elapsed() <= 31 * S, `failed at ${w.elapsed()} ms, not when it died`);
    assert.match(err.message, /pid 4242\) exited during start-up, after 30s/);
    assert.ok(err.message.includes(`See its log: ${LOG}`), err.message);
    assert.ok(err.message.includes('java.lang.OutOfMemoryError'), 'the tail of the log');
  });

  test('alive but no progress (log unchanged, CPU idle) fails after the stall window, not before', async () => {
    // An idle JVM still uses a little CPU: 1 % is not progress (0.6 s a minute, under the 1 s threshold).
    const w = world({ cpu: (t) => t / 100 });
    const err = await rejection(waitWhileProgressing(w.opts, w.probes));
    assert.ok(err instanceof StartStalled, `${err.name}: ${err.message}`);
    assert.ok(w.elapsed() >= 60 * S && w.elapsed() <= 61 * S, `gave up at ${w.elapsed()} ms`);
    assert.match(err.message, /shows no progress/);
    assert.match(err.message, /last check: FIND answered HTTP 500/);
    assert.ok(err.message.includes(LOG), err.message);
  });

  test('a start still making progress at the bound fails then, saying what, how long, where and how to go on', async () => {
    const w = world({ files: (t) => String(Math.floor(t / (5 * S))) });
    const err = await rejection(waitWhileProgressing(w.opts, w.probes));
    assert.ok(err instanceof StartTimedOut, `${err.name}: ${err.message}`);
    assert.equal(w.elapsed(), 900 * S);
    assert.match(err.message, /^Fake Warp 10 is still not ready after 900s \(the bound\)/);
    assert.match(err.message, /still making progress/);
    assert.match(err.message, /It is left running \(pid 4242\); its log: \/var\/fake\/warp10\.log/);
    assert.match(err.message, /To go on: run npm run stack:up again\.$/);
  });

  test('a check that throws is a "not yet", kept as the reason', async () => {
    const w = world({});
    w.opts.check = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8080'));
    const err = await rejection(waitWhileProgressing(w.opts, w.probes));
    assert.ok(err instanceof StartStalled);
    assert.match(err.message, /last check: connect ECONNREFUSED/);
  });
});

describe('the env file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'offload-stackenv-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('is replaced whole (temp file + rename), owner-only, without leftovers', () => {
    const file = path.join(dir, 'stack.env');
    writeEnvFile({ TEMPORAL_ADDRESS: '127.0.0.1:7233' }, file);
    // A reader holding the old file keeps reading the old file, whole: the new one is another inode.
    const fd = openSync(file, 'r');
    try {
      writeEnvFile({ TEMPORAL_ADDRESS: '127.0.0.1:7233', WARP10_URL: 'http://127.0.0.1:8080' }, file);
      const buf = Buffer.alloc(4096);
      const old = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString();
      assert.doesNotMatch(old, /WARP10_URL/);
    } finally {
      closeSync(fd);
    }
    assert.match(
      readFileSync(file, 'utf8'),
      /^TEMPORAL_ADDRESS=127\.0\.0\.1:7233\nWARP10_URL=http:\/\/127\.0\.0\.1:8080\n$/m,
    );
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['stack.env']);
  });

  test('one without the Warp 10 lines is removed after a failed start; a complete one is kept', () => {
    const file = path.join(dir, 'stack.env');
    writeEnvFile({ TEMPORAL_ADDRESS: '127.0.0.1:7233' }, file);
    assert.equal(dropIncompleteEnvFile(file), true);
    assert.deepEqual(readdirSync(dir), []);
    writeEnvFile({ TEMPORAL_ADDRESS: '127.0.0.1:7233', WARP10_URL: 'http://127.0.0.1:8080' }, file);
    assert.equal(dropIncompleteEnvFile(file), false);
    writeEnvFile({ TEMPORAL_ADDRESS: '127.0.0.1:7233', WARP10_UNAVAILABLE: 'no distribution' }, file);
    assert.equal(dropIncompleteEnvFile(file), false);
    assert.equal(dropIncompleteEnvFile(path.join(dir, 'missing.env')), false);
  });
});
