// A Warp 10 that does not count microseconds (`warp.timeunits = ms`): the offloader's month ranges would
// read, archive and delete the wrong ticks. A second real Warp 10 3.5.0 configured in milliseconds: the
// worker (npm run worker) refuses to start, saying what it found and what to set; a worker that skipped
// that check (in process) still has every request refused by the guard in front of each script, before
// anything is read or deleted. The stack's own Warp 10 (microseconds) runs every other test.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { freePort } from '../../src/metrics/server.ts';
import { Warp10Client, WarpScriptError } from '../../src/warp10/client.ts';
import { checkTimeUnits, guardUnits, Warp10TimeUnitsError } from '../../src/warp10/time-units.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { startStandalone, type StandaloneInstance } from '../../scripts/stack/warp10.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { tempDir, testConfig, writeConfigFile } from '../support/config.ts';
import { toInputFormat } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip } from '../support/stack.ts';
import { exited, startWorkerProcess } from '../support/worker-process.ts';

const MONTH = '2026-06';
/** The month's first millisecond: what the instance in milliseconds holds its points at. */
const S_MS = Date.UTC(2026, 5, 1);
const POINTS = 6;

let env: TestWorkflowEnvironment;
let ms: StandaloneInstance | undefined;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await ms?.stop();
  await env?.teardown();
});

/** The instance in milliseconds, started once for the file, with 3 series × 2 points in the month. */
async function millisecondWarp10(cls: string): Promise<StandaloneInstance> {
  if (!ms) {
    const port = await freePort();
    ms = await startStandalone({
      name: `warp10-ms-${port}`,
      dataDir: tempDir('ms-warp10'),
      port,
      // Its generated configuration's extra lines: read after standalone.conf's `warp.timeunits = us`.
      archiveStore: { 'archive.fetch.dir': tempDir('ms-archive'), 'warp.timeunits': 'ms' },
    });
  }
  const client = new Warp10Client({ url: ms.url });
  try {
    await client.update(
      ms.writeToken,
      toInputFormat(
        [1, 2, 3].map((h) => ({
          cls,
          labels: { host: `h${h}` },
          points: [
            { ts: S_MS + h, value: h },
            { ts: S_MS + 86_400_000 + h, value: h },
          ],
        })),
      ),
    );
  } finally {
    await client.close();
  }
  return ms;
}

/** Every point of the class still in the instance, whatever its range. */
async function livePoints(w: StandaloneInstance, cls: string): Promise<number> {
  const client = new Warp10Client({ url: w.url });
  try {
    const { stack } = await client.exec<[number]>(
      `{ 'token' '${w.readToken}' 'class' '${cls}' 'labels' {} 'start' ${S_MS - 86_400_000} 'end' ${S_MS + 60 * 86_400_000} } FETCH 0 SWAP <% SIZE + %> FOREACH`,
      { name: 'count' },
    );
    return stack[0];
  } finally {
    await client.close();
  }
}

const files = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());

describe('a Warp 10 counting milliseconds (warp.timeunits = ms, a second real Warp 10)', () => {
  test('bad input: a Warp 10 in milliseconds (warp.timeunits = ms) when the worker starts — exit 2, "needs warp.timeunits = us", nothing archived or deleted', async (t) => {
    const stack = warp10OrSkip(t);
    if (!stack) return;
    const cls = uniqueId('test.units.start').replace(/-/g, '.');
    const w = await millisecondWarp10(cls);
    // The stack's instance counts microseconds: the same check passes there.
    const usClient = new Warp10Client({ url: stack.url });
    assert.equal(await checkTimeUnits(usClient), 1_000_000);
    await usClient.close();

    const { file, config } = writeConfigFile({
      warp10Url: w.url,
      taskQueue: uniqueId('units'),
      dataset: 'units',
      cls,
      seriesPerBatch: 2,
    });
    // WARP10_URL would override the config's warp10.url (the stack's instance is in the environment).
    const worker = startWorkerProcess(file, w, { WARP10_URL: w.url });
    const timer = setTimeout(() => worker.kill('SIGKILL'), 60_000);
    const { code } = await exited(worker);
    clearTimeout(timer);
    const out = worker.output();
    assert.equal(code, 2, out);
    assert.ok(out.includes(`Warp 10 at ${w.url} counts 1000 time units a second (warp.timeunits = ms)`), out);
    assert.match(out, /needs warp\.timeunits = us \(1000000 a second\)/);
    assert.match(out, /Point warp10\.url at a Warp 10 configured with warp\.timeunits = us/);
    assert.doesNotMatch(out, /worker on task queue/, 'it never took work');
    for (const secret of [w.readToken, w.writeToken])
      assert.ok(!out.includes(secret), 'no token in its output');
    assert.equal(await livePoints(w, cls), POINTS, 'nothing deleted');
    assert.equal(files((config.store as { path: string }).path).length, 0, 'nothing archived');
  });

  test("bad input: a worker that skipped the start check, against a Warp 10 in milliseconds — Warp10TimeUnits at the plan's first request and the guarded delete's, not retried, nothing archived or deleted", async (t) => {
    const stack = warp10OrSkip(t);
    if (!stack) return;
    const cls = uniqueId('test.units.run').replace(/-/g, '.');
    const w = await millisecondWarp10(cls);
    process.env.UNITS_READ = w.readToken;
    process.env.UNITS_WRITE = w.writeToken;
    const storeDir = tempDir('units-store');
    const config = testConfig({
      warp10Url: w.url,
      tokenEnv: { read: 'UNITS_READ', write: 'UNITS_WRITE' },
      store: { type: 'local', path: storeDir },
      groups: [{ name: 'infra', datasets: [{ name: 'units', selector: { class: cls }, seriesPerBatch: 2 }] }],
    });
    const rt = buildRuntime(config, { log: () => {} });
    t.after(() => rt.close());

    // The archive run, on an in-process worker (no start check): refused by the plan's first request.
    const err = await archiveRuns(env, rt, { group: 'infra', dataset: 'units', month: MONTH }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const cause = (err.cause as { cause?: { type?: string; message?: string; details?: unknown[] } }).cause;
    assert.equal(cause?.type, 'Warp10TimeUnits');
    assert.match(cause?.message ?? '', /counts 1000 time units a second \(warp\.timeunits = ms\)/);
    assert.match(cause?.message ?? '', /needs warp\.timeunits = us/);
    assert.equal((cause?.details?.[0] as { attempt: number }).attempt, 1, 'not retried');

    // The guarded delete of the whole class over the month, as its script is sent: refused before its
    // read or its DELETE.
    const refused = await rt.runner
      .run('archive-delete-partition', {
        readToken: w.readToken,
        writeToken: w.writeToken,
        selector: `${cls}{}`,
        start: S_MS * 1000,
        end: (S_MS + 30 * 86_400_000) * 1000 - 1,
        wrap: 'x',
        live: 3,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(refused instanceof WarpScriptError, String(refused));
    assert.equal(guardUnits(refused.warpMessage), 1000);
    assert.equal(refused.line, 1, 'the guard on the first line');
    await assert.rejects(checkTimeUnits(rt.client), Warp10TimeUnitsError);

    assert.equal(await livePoints(w, cls), POINTS, 'nothing deleted');
    const written = files(storeDir).map((e) => e.name);
    assert.deepEqual(
      written.filter((n) => n !== 'failure.json'),
      [],
      'nothing archived',
    );
  });
});
