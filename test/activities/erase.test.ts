// An erasure stopped at each of its steps (the worker dies there: nothing after it runs) is finished by a
// run again, as if it had not stopped: the erased series gone from every reader and every byte, the kept
// series read back point for point, each count once, no stray object. While a month's erasure is under
// way, the archive's writes into it wait; a batch manifest read before the erasure is never written back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createEraseActivities, type EraseRequest, type EraseStep } from '../../src/activities/erase.ts';
import { createStoreActivities } from '../../src/activities/store.ts';
import { readBatch, writeBatch } from '../../src/activities/warp10/shared.ts';
import { eraseJournalKey, monthManifestKey, monthPrefix, type MonthRef } from '../../src/archive/layout.ts';
import { LOCAL_ARCHIVE } from '../../scripts/stack/extension.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import type { EraseResult } from '../../src/workflows/erase.ts';
import { archiveRuns, eraseRun } from '../support/archive-run.ts';
import { exec } from '../support/cold-tier.ts';
import { writeConfigFile } from '../support/config.ts';
import { utcMonth } from '../support/month.ts';
import { enc } from '../support/nasty-month.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle, type Warp10Stack } from '../support/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const H = 3_600_000_000;
/** One month a step the worker dies after (the last, `replaced`, inside the step that closes the month). */
/** A month an archive run (late data) meets while it is erased. */
const CONCURRENT = '2023-08';
const STEPS: [EraseStep, string][] = [
  ['opened', '2023-01'],
  ['objects', '2023-02'],
  ['written', '2023-03'],
  ['manifests', '2023-04'],
  ['scrubbed', '2023-05'],
  ['committed', '2023-06'],
  ['replaced', '2023-07'],
];

let env: TestWorkflowEnvironment;
let w: Warp10Stack | undefined;
let rt: Runtime;
let file: string;
let cls: string;
let dataset: string;
const before_: Record<string, { acme: unknown; beta: unknown }> = {};
let fixture: Promise<void> | undefined;

function crashed(): Error {
  return Object.assign(new Error('the worker died here'), { crash: true });
}

/** The erasure's activities as a worker runs them, dying at `step` (nothing after it runs, nothing undone). */
const dyingAt = (step: EraseStep) =>
  createEraseActivities({
    store: rt.store,
    runner: rt.runner,
    recordKey: () => w!.writeToken,
    graceMs: 0,
    step: (s) => {
      if (s === step) throw crashed();
    },
  });

async function read(month: string, selector: string): Promise<unknown> {
  const { S, E } = utcMonth(month);
  const r = await exec(
    w!.url,
    `'${w!.readToken}' CAPADD { 'token' '${w!.readToken}' 'selector' '${selector}' 'start' ${S} 'end' ${E - 1} } ARCHIVE.FETCH <% SORT %> F LMAP`,
  );
  assert.equal(r.error, undefined, r.error);
  const key = (g: { c: string; l: object }) => `${g.c} ${JSON.stringify(Object.entries(g.l).sort())}`;
  return (r.stack![0] as { c: string; l: object }[]).sort((a, b) => (key(a) < key(b) ? -1 : 1));
}

const acme = () => `${enc(cls)}{customer=acme}`;
const beta = () => `${enc(cls)}{customer=beta}`;
const ref = (month: string): MonthRef => ({ group: 'infra', dataset, month });

const eraseWorkflow = (args: EraseRequest) => eraseRun(env, rt, args);

/** Archives one month a step: 4 acme and 4 beta series, 6 points each, 3 series a batch. */
async function setUp(stack: Warp10Stack): Promise<void> {
  cls = uniqueId('test.erasefault').replace(/-/g, '.');
  dataset = cls.replace(/[^a-z0-9]/g, '');
  const c = writeConfigFile({
    warp10Url: stack.url,
    taskQueue: uniqueId('erase-faults'),
    dataset,
    cls,
    seriesPerBatch: 3,
    extra: { store: { type: 'local', path: LOCAL_ARCHIVE } },
  });
  file = c.file;
  rt = buildRuntime(c.config);
  const lines: string[] = [];
  for (const month of [...STEPS.map(([, m]) => m), CONCURRENT]) {
    const { S } = utcMonth(month);
    for (const customer of ['acme', 'beta'])
      for (let h = 0; h < 4; h++)
        for (let i = 0; i < 6; i++)
          lines.push(`${S + i * H}// ${enc(cls)}{customer=${customer},host=h${h}} ${h * 100 + i}`);
  }
  await rt.client.update(rt.tokens.write, lines.join('\n'));
  for (const month of [...STEPS.map(([, m]) => m), CONCURRENT]) {
    const [r] = await archiveRuns(env, rt, ref(month));
    assert.equal(r?.points, 48);
    before_[month] = { acme: await read(month, acme()), beta: await read(month, beta()) };
  }
}

before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await rt?.close();
  await env?.teardown();
});

describe('erase: fault tolerance (real Warp 10, real Temporal, real store)', () => {
  test('fault: an archive run (late data) of a month being erased — it waits for the erasure, then archives its late point; the erased series stay erased, 0 points of the kept series lost', async (t) => {
    w = warp10OrSkip(t);
    if (!w) return;
    if (process.env.WARP10_MANAGED === 'external') {
      t.skip('ARCHIVE.FETCH is loaded into the stack Warp 10 only');
      return;
    }
    fixture ??= setUp(w);
    await fixture;
    const m = ref(CONCURRENT);
    // An erasure holds the month (stopped after its new objects, its journal open).
    const dying = dyingAt('written');
    await assert.rejects(dying.eraseMonth({ ...m, selector: acme(), dryRun: false, id: 'held' }));
    // A late point into a kept series; the month's archive run starts meanwhile.
    const { S } = utcMonth(CONCURRENT);
    await rt.client.update(rt.tokens.write, `${S + 7 * H}// ${enc(cls)}{customer=beta,host=h1} 4242`);
    const taskQueue = uniqueId('erase-concurrent');
    const worker = await createOffloadWorker({
      connection: env.nativeConnection,
      runtime: rt,
      taskQueue,
      workflowBundle: await workflowBundle(),
    });
    const done = await worker.runUntil(async () => {
      const archive = env.client.workflow.execute('archive', {
        taskQueue,
        workflowId: `archive-concurrent-${taskQueue}`,
        args: [m],
      });
      // The archive run meets the journal: its writes into the month wait (retried), nothing half-applied.
      await new Promise((r) => setTimeout(r, 4_000));
      const erased = await env.client.workflow.execute('erase', {
        taskQueue,
        workflowId: uniqueId('erase-concurrent'),
        args: [{ selector: acme(), from: CONCURRENT, to: CONCURRENT }],
      });
      return {
        erased: erased as EraseResult,
        archived: (await archive) as { status: string; points: number },
      };
    });
    assert.deepEqual(
      done.erased.months.filter((x) => x.dataset === dataset).map((x) => [x.status, x.series, x.points]),
      [['erased', 4, 24]],
    );
    assert.equal(done.archived.status, 'archived', JSON.stringify(done.archived));
    // It did meet the erasure: an attempt of its failed with MonthBeingErased, and was retried.
    const history = await env.client.workflow.getHandle(`archive-concurrent-${taskQueue}`).fetchHistory();
    const waited = (history.events ?? []).filter(
      (e) =>
        e.activityTaskStartedEventAttributes?.lastFailure?.applicationFailureInfo?.type ===
        'MonthBeingErased',
    );
    assert.ok(waited.length > 0, 'the archive run waited for the erasure');
    assert.deepEqual(await read(CONCURRENT, acme()), [], 'the erased series stay erased');
    const kept = (await read(CONCURRENT, beta())) as { l: { host: string }; v: unknown[][] }[];
    const before = before_[CONCURRENT]!.beta as { l: { host: string }; v: unknown[][] }[];
    assert.equal(
      kept.reduce((n, g) => n + g.v.length, 0),
      before.reduce((n, g) => n + g.v.length, 0) + 1,
      'every kept point, and the late one',
    );
    assert.ok(kept.find((g) => g.l.host === 'h1')!.v.some((p) => p.at(-1) === 4242));
    const v = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/verify-archive.ts', '--month', CONCURRENT, '--dataset', dataset],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OFFLOAD_CONFIG: file } },
    );
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });

  for (const [step, month] of STEPS) {
    test(`fault: erase, the worker dies after step "${step}" — a run again finishes the month, 0 points of the kept series lost, each count once`, async (t) => {
      w = warp10OrSkip(t);
      if (!w) return;
      if (process.env.WARP10_MANAGED === 'external') {
        t.skip('ARCHIVE.FETCH is loaded into the stack Warp 10 only');
        return;
      }
      fixture ??= setUp(w);
      await fixture;
      const m = ref(month);
      // The first run dies at `step` (an exception there: nothing after it runs, nothing is cleaned up).
      const dying = dyingAt(step);
      const first =
        step === 'replaced'
          ? dying.eraseMonth({ ...m, selector: acme(), dryRun: false, id: 'crashed-run' }).then(async () => {
              // The month's commit point passed: the catalog lists it before its old objects go.
              const { publishMonths } = await import('../../src/archive/catalog-store.ts');
              await publishMonths(rt.store, [m]);
              return dying.finishMonthErasure(m);
            })
          : dying.eraseMonth({ ...m, selector: acme(), dryRun: false, id: 'crashed-run' });
      await assert.rejects(first, (e: unknown) => (e as { crash?: boolean }).crash === true);
      assert.ok(
        await rt.store.head(eraseJournalKey(m)),
        'the month keeps its journal: the archive waits for the erasure',
      );

      // While it is open, the archive's writes into the month wait (retryable), and change nothing.
      const bm = await readBatch(rt.store, m, 1);
      await assert.rejects(writeBatch(rt.store, m, 1, bm!), /is being erased/);
      const commit = createStoreActivities({ store: rt.store }).commitMonth({
        ...m,
        workflowId: 'x',
        runId: 'y',
      });
      await assert.rejects(commit, /is being erased/);

      const again = await eraseWorkflow({ selector: acme(), from: month, to: month });
      const mine = again.months.filter((x) => x.dataset === dataset);
      assert.deepEqual(
        mine.map((x) => [x.month, x.status, x.series, x.points]),
        [[month, 'erased', 4, 24]],
        'the counts of the whole month, once',
      );
      assert.equal(await rt.store.head(eraseJournalKey(m)), undefined, 'the journal is closed');
      assert.deepEqual(await read(month, acme()), [], 'the erased series are gone');
      assert.deepEqual(await read(month, beta()), before_[month]!.beta, 'the kept series, point for point');
      const manifest = JSON.parse(
        readFileSync(path.join(LOCAL_ARCHIVE, ...monthManifestKey(m).split('/')), 'utf8'),
      ) as { series: number; points: number; revision: number };
      assert.deepEqual([manifest.series, manifest.points, manifest.revision], [4, 24, 2]);
      const v = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'scripts/verify-archive.ts', '--month', month, '--dataset', dataset],
        { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OFFLOAD_CONFIG: file } },
      );
      assert.equal(v.status, 0, `no stray or damaged object: ${v.stdout}${v.stderr}`);
      const dir = path.join(LOCAL_ARCHIVE, ...monthPrefix(m).split('/').filter(Boolean));
      for (const f of readdirSync(dir)) {
        const raw = readFileSync(path.join(dir, f));
        const text = raw[0] === 0x1f ? gunzipSync(raw).toString('latin1') : raw.toString('latin1');
        assert.ok(!text.includes('acme'), `${f} still names the erased customer`);
      }

      // A batch manifest read before the erasure is never written back over its rewrite.
      if (bm && !bm.erasures && (await readBatch(rt.store, m, 1))?.erasures) {
        await assert.rejects(writeBatch(rt.store, m, 1, bm), /rewritten by an erasure since it was read/);
      }
    });
  }
});
