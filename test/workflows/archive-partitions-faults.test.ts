// Faults on the label-prefix batching of a large dataset (real Temporal, real Warp 10): a guarded
// delete whose reply is lost after Warp 10 deleted, and an export whose reply is cut off mid-stream.
// Each is retried, resumes from the store, and every point of the month ends archived exactly once.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { archiveWorkflowId, monthManifestKey, planKey } from '../../src/archive/layout.ts';
import { MonthManifestSchema, PlanSchema } from '../../src/archive/manifest.ts';
import { monthRange } from '../../src/month.ts';
import { Warp10Client, Warp10UnavailableError } from '../../src/warp10/client.ts';
import { httpRunner, type FeedingRunner, type Params } from '../../src/warp10/runner.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import type { ArchiveResult } from '../../src/workflows/archive.ts';
import { testConfig } from '../support/config.ts';
import { assertSameTicks, decodedTicks, deletedBatches, type TickLedger } from '../support/ledger.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle } from '../support/stack.ts';

const COUNT_RANGE = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'count-range.mc2');
const MONTH = '2026-05';
const { startUs, endUs } = monthRange(MONTH, 'UTC');
const S = Number(startUs);
const E = Number(endUs);
const APPS = 3_000; // x 4 = 12,000 series: over the partition threshold

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

type Fault = 'delete reply lost' | 'export cut off';

async function archiveWith(t: TestContext, fault: Fault) {
  const w = warp10OrSkip(t);
  if (!w) return;
  const cls = uniqueId('test.pfault').replace(/-/g, '.');
  const config = testConfig({
    groups: [{ name: 'apps', datasets: [{ name: 'p', selector: { class: cls }, pointsPerBatch: 8_000 }] }],
  });
  const inner = httpRunner(new Warp10Client({ url: w.url }));
  let faults = 0;
  const runner: FeedingRunner = {
    run: async <T>(script: string, params: Params, signal?: AbortSignal) => {
      const r = await inner.run<T>(script, params, signal);
      if (fault === 'delete reply lost' && script === 'archive-delete-partition' && faults++ === 0) {
        // Warp 10 deleted the batch; its reply never reached the worker.
        throw new Warp10UnavailableError('connection reset after the request (test fault)', 'http');
      }
      return r;
    },
    runFed: (script, params, feed, signal) => inner.runFed(script, params, feed, signal),
    stream: async (script, params, signal) => {
      const body = await inner.stream(script, params, signal);
      if (fault !== 'export cut off' || faults++ > 0) return body;
      // Half of the reply, then the connection drops.
      return (async function* () {
        let bytes = 0;
        for await (const chunk of body) {
          bytes += chunk.length;
          yield chunk;
          if (bytes > 200_000)
            throw new Warp10UnavailableError('reply cut off mid-stream (test fault)', 'http');
        }
      })();
    },
  };
  const rt = buildRuntime(config, { log: () => {}, runner });
  const ledger: TickLedger = new Map();
  let lines: string[] = [];
  for (let a = 0; a < APPS; a++) {
    const app = randomUUID();
    for (let i = 0; i < 4; i++) {
      const k = `${cls}{app=${app},inst=${randomBytes(4).toString('hex')},zone=par${i % 3}}`;
      const ticks = [S + a * 1_000_000, E - 1 - a];
      lines.push(`${ticks[0]}// ${k} ${a}`, `=${ticks[1]}// ${i}`);
      ledger.set(k, new Set(ticks));
    }
    if (lines.length >= 50_000) {
      await rt.client.update(rt.tokens.write, lines.join('\n'));
      lines = [];
    }
  }
  await rt.client.update(rt.tokens.write, lines.join('\n'));

  const ref = { group: 'apps', dataset: 'p', month: MONTH };
  const taskQueue = uniqueId('pfault');
  const worker = await createOffloadWorker({
    connection: env.nativeConnection,
    runtime: rt,
    taskQueue,
    workflowBundle: await workflowBundle(),
  });
  const result = (await worker.runUntil(
    env.client.workflow.execute('archive', {
      taskQueue,
      workflowId: `${archiveWorkflowId(ref)}-${taskQueue}`,
      args: [ref],
    }),
  )) as ArchiveResult;
  assert.equal(faults >= 1, true, 'the fault happened');
  assert.equal(result.status, 'archived');
  const plan = PlanSchema.parse(JSON.parse(await rt.store.getText(planKey(ref))));
  assert.ok(plan.partitions && plan.batches.length >= 2, 'partitioned, several batches');

  const manifest = MonthManifestSchema.parse(JSON.parse(await rt.store.getText(monthManifestKey(ref))));
  const deleted = await deletedBatches(rt.store, ref, manifest.batches);
  const alreadyGone = deleted.reduce((n, m) => n + (m.deleted?.alreadyGone ?? 0), 0);
  const archived = await decodedTicks(
    rt.store,
    deleted,
    (c, l) => `${c}{app=${l.app},inst=${l.inst},zone=${l.zone}}`,
  );
  if (fault === 'delete reply lost') assert.ok(alreadyGone > 0, 'the retried delete saw its batch gone');
  assertSameTicks(archived, ledger);
  const [[series, points]] = await inner.run<[[number, number]]>(COUNT_RANGE, {
    token: w.readToken,
    class: cls,
    labels: {},
    start: S,
    end: E - 1,
  });
  assert.deepEqual({ series, points }, { series: 0, points: 0 }, 'nothing of the month is live');
  await rt.close();
}

test("fault: a partition batch's guarded delete reply lost after Warp 10 deleted — retried, seen as already deleted, every point archived once, none live", async (t) => {
  await archiveWith(t, 'delete reply lost');
});

test("fault: a partition batch's export reply cut off mid-stream — retried, the object written whole, every point archived once, none live", async (t) => {
  await archiveWith(t, 'export cut off');
});
