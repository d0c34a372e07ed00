// Failure paths of the archive against the REAL Warp 10: what a retry can fix is retried and the
// archive completes once Warp 10 answers again; what it cannot fix fails fast. Nothing is ever lost.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { archiveWorkflowId } from '../../src/archive/layout.ts';
import { monthRange } from '../../src/month.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { testConfig } from '../support/config.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { toInputFormat } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle, type Warp10Stack } from '../support/stack.ts';

const MONTH = '2026-08';
const S = Number(monthRange(MONTH, 'UTC').startUs);
const BROKEN = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'broken-export.mc2');

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

async function countInMonth(w: Warp10Stack, cls: string): Promise<number> {
  const c = new Warp10Client({ url: w.url });
  const { stack } = await c.exec<[number]>(
    `{ 'token' '${w.readToken}' 'class' '${cls}' 'labels' {} 'start' ${S} 'end' ${S + 86_400_000_000} } FETCH 0 SWAP <% SIZE + %> FOREACH`,
    { name: 'count' },
  );
  await c.close();
  return stack[0];
}

/** Seeds 3 series of 2 points, runs one archive through `url` (a fault proxy or Warp 10 itself). */
async function runArchive(
  w: Warp10Stack,
  opts: { url: string; template?: string; requestTimeoutMs?: number },
) {
  const cls = uniqueId('test.fault').replace(/-/g, '.');
  const config = testConfig({
    warp10Url: opts.url,
    groups: [
      {
        name: 'infra',
        datasets: [
          {
            name: 'faulty',
            selector: { class: cls },
            seriesPerBatch: 2,
            ...(opts.template ? { templates: { export: opts.template } } : {}),
          },
        ],
      },
    ],
  });
  if (opts.requestTimeoutMs) config.warp10.requestTimeoutMs = opts.requestTimeoutMs;
  const seeder = new Warp10Client({ url: w.url });
  await seeder.update(
    w.writeToken,
    toInputFormat(
      [1, 2, 3].map((h) => ({
        cls,
        labels: { host: `h${h}` },
        points: [
          { ts: S + h, value: h },
          { ts: S + 100 + h, value: h },
        ],
      })),
    ),
  );
  await seeder.close();
  const rt = buildRuntime(config);
  const taskQueue = uniqueId('faults');
  const worker = await createOffloadWorker({
    connection: env.nativeConnection,
    runtime: rt,
    taskQueue,
    workflowBundle: await workflowBundle(),
  });
  const ref = { group: 'infra', dataset: 'faulty', month: MONTH };
  const workflowId = `${archiveWorkflowId(ref)}-${taskQueue}`;
  const started = Date.now();
  const outcome = await worker
    .runUntil(env.client.workflow.execute('archive', { taskQueue, workflowId, args: [ref] }))
    .then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
  await rt.close();
  return { ...outcome, cls, workflowId, seconds: (Date.now() - started) / 1000 };
}

describe('archive failure paths (real Warp 10)', () => {
  test("a WarpScript error fails fast, non-retryable, with Warp 10's line and message; hot data intact", async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const { error, cls, workflowId } = await runArchive(w, { url: w.url, template: BROKEN });
    assert.ok(error instanceof WorkflowFailedError);
    const cause = (error.cause as { cause?: { type?: string; message?: string; details?: unknown[] } }).cause;
    assert.equal(cause?.type, 'WarpScriptError');
    assert.match(cause?.message ?? '', /broken-export\.mc2 failed at line 4/);
    const details = cause?.details?.[0] as { attempt: number; warp10?: { line?: number; message: string } };
    assert.equal(details.attempt, 1, 'not retried');
    assert.equal(details.warp10?.line, 4);
    assert.match(details.warp10?.message ?? '', /NOSUCHFUNCTION/);
    assert.equal(await countInMonth(w, cls), 6, 'every point still in Warp 10');
    // The compensating workflow was started for this run.
    const failures = env.client.workflow.list({
      query: `WorkflowType = 'archiveFailure' AND WorkflowId STARTS_WITH 'archive-failure/infra/faulty/${MONTH}'`,
    });
    let found = false;
    for await (const f of failures)
      if (f.workflowId.includes((await env.client.workflow.getHandle(workflowId).describe()).runId))
        found = true;
    assert.ok(found, 'archiveFailure started');
  });

  test('Warp 10 answering 503 is retried and the archive completes', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const proxy = new FaultProxy(w.url);
    await proxy.start();
    proxy.failNext(2, { kind: '503' });
    const { result, error, cls } = await runArchive(w, { url: proxy.url });
    await proxy.stop();
    assert.equal(error, undefined, String(error));
    assert.equal(result?.status, 'archived');
    assert.equal(result?.points, 6);
    assert.equal(await countInMonth(w, cls), 0);
  });

  test('a refused connection is retried and the archive completes once Warp 10 is back', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const proxy = new FaultProxy(w.url);
    await proxy.start();
    await proxy.stop(); // Warp 10 "down": nothing listens on the proxy's port
    const back = setTimeout(() => void proxy.start(), 4_000);
    const { result, error, cls } = await runArchive(w, { url: proxy.url });
    clearTimeout(back);
    await proxy.stop();
    assert.equal(error, undefined, String(error));
    assert.equal(result?.status, 'archived');
    assert.equal(await countInMonth(w, cls), 0);
  });

  test('a request slower than the timeout is retried and the archive completes', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const proxy = new FaultProxy(w.url);
    await proxy.start();
    proxy.failNext(1, { kind: 'hang', ms: 3_000 });
    const { result, error, cls } = await runArchive(w, { url: proxy.url, requestTimeoutMs: 1_000 });
    await proxy.stop();
    assert.equal(error, undefined, String(error));
    assert.equal(result?.status, 'archived');
    assert.equal(await countInMonth(w, cls), 0);
  });
});
