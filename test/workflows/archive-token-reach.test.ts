// The guarded delete reads with the read token and deletes with the write token. When the write token can
// delete series the read token cannot read (here: another producer of the same owner and application,
// same class and labels), DELETE's count bound alone is not enough: the read token also lists a series the
// write token cannot reach (another owner), the counts match, and the series never read would be deleted.
// The guard compares what DELETE's dry run names with what the read token lists, in the same request,
// and deletes nothing otherwise. Real Warp 10 3.5.0 (tokens minted by its TokenGen with the local stack's
// keys), real Temporal.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test, type TestContext } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { toFailure } from '../../src/activities/failures.ts';
import { wrapDigest } from '../../src/warp10/digest.ts';
import { Warp10Client, WarpScriptError } from '../../src/warp10/client.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { testConfig } from '../support/config.ts';
import { utcMonth } from '../support/month.ts';
import { temporalEnv, uniqueId, warp10OrSkip, type Warp10Stack } from '../support/stack.ts';
import { tokenGen } from '../support/tokengen.ts';

const MONTH = '2026-07';
const { S, E } = utcMonth(MONTH);

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

interface Tokens {
  /** Owner 1, producer 1: the configured write token. */
  write1: string;
  /** Owner 1, producer 2: writes the series the read token cannot see. */
  write2: string;
  /** Owner 3: writes a series the read token sees and the configured write token cannot delete. */
  write3: string;
  /** Owners 1 and 3, producers 1 and 3: the configured read token. */
  read: string;
  /** Owners 1 and 3, any producer: counts every point in the end. */
  readAll: string;
}

/**
 * Tokens of fresh owners and application, minted by Warp 10's own TokenGen with the local stack's keys
 * (undefined for a Warp 10 the stack did not install: its keys are not ours).
 */
function mintTokens(app: string): Tokens | undefined {
  const [o1, p2, o3] = [randomUUID(), randomUUID(), randomUUID()];
  const spec = (id: string, type: string, owner: string, rest: string) =>
    `{ 'id' '${id}' 'type' '${type}' 'application' '${app}' 'owner' '${owner}' 'issuance' NOW 1000 / 'ttl' 86400000 ${rest} }`;
  const minted = tokenGen(
    `[ ${[
      spec('reach-w1', 'WRITE', o1, `'producer' '${o1}'`),
      spec('reach-w2', 'WRITE', o1, `'producer' '${p2}'`),
      spec('reach-w3', 'WRITE', o3, `'producer' '${o3}'`),
      spec(
        'reach-r',
        'READ',
        o1,
        `'owners' [ '${o1}' '${o3}' ] 'producers' [ '${o1}' '${o3}' ] 'applications' [ '${app}' ]`,
      ),
      spec(
        'reach-rall',
        'READ',
        o1,
        `'owners' [ '${o1}' '${o3}' ] 'producers' [ ] 'applications' [ '${app}' ]`,
      ),
    ].join(' ')} ] <% TOKENGEN %> F LMAP`,
  );
  if (!minted) return undefined;
  const [write1, write2, write3, read, readAll] = (minted as { token: string }[]).map((m) => m.token) as [
    string,
    string,
    string,
    string,
    string,
  ];
  return { write1, write2, write3, read, readAll };
}

/** Series a (producer 1), a again (producer 2: invisible to the read token), c (owner 3): 3 points each. */
async function seed(w: Warp10Stack, tokens: Tokens, cls: string) {
  const client = new Warp10Client({ url: w.url });
  const lines = (h: string, v: number) =>
    [S - 1, S + 1_000_000, E - 1].map((ts) => `${ts}// ${cls}{h=${h}} ${v}`).join('\n');
  try {
    await client.update(tokens.write1, lines('a', 1));
    await client.update(tokens.write2, lines('a', 2));
    await client.update(tokens.write3, lines('c', 3));
  } finally {
    await client.close();
  }
}

/**
 * The values of every point of the class, whichever producer wrote it, sorted (FETCH may merge series that
 * differ only by their hidden producer: values tell them apart).
 */
async function everyPoint(w: Warp10Stack, tokens: Tokens, cls: string): Promise<number[]> {
  const client = new Warp10Client({ url: w.url });
  try {
    const { stack } = await client.exec<[number[]]>(
      `{ 'token' '${tokens.readAll}' 'class' '${cls}' 'labels' {} 'start' ${S - 10} 'end' ${E + 10} } FETCH ` +
        '<% VALUES %> F LMAP FLATTEN LSORT',
      { name: 'every point' },
    );
    return stack[0];
  } finally {
    await client.close();
  }
}

function setup(t: TestContext) {
  const w = warp10OrSkip(t);
  if (!w) return undefined;
  const app = uniqueId('reach').replace(/-/g, '');
  const tokens = mintTokens(app);
  if (!tokens) {
    t.skip('needs the local stack Warp 10 (its keys mint the tokens)');
    return undefined;
  }
  return { w, tokens, app, cls: uniqueId('test.reach').replace(/-/g, '.') };
}

/** Three points of a (producer 1), of a (producer 2) and of c (owner 3). */
const ALL = [1, 1, 1, 2, 2, 2, 3, 3, 3];

describe('a write token reaching further than the read token (real Warp 10, real Temporal)', () => {
  test('bad input: a write token that can delete a series the read token cannot read, same class and labels — Warp10TokenReach naming how many and what to fix, nothing deleted, every point of both series still there', async (t) => {
    const s = setup(t);
    if (!s) return;
    const { w, tokens, cls } = s;
    await seed(w, tokens, cls);
    assert.deepEqual(await everyPoint(w, tokens, cls), ALL);
    process.env.REACH_READ = tokens.read;
    process.env.REACH_WRITE = tokens.write1;
    const config = testConfig({
      warp10Url: w.url,
      tokenEnv: { read: 'REACH_READ', write: 'REACH_WRITE' },
      groups: [
        { name: 'infra', datasets: [{ name: 'reach', selector: { class: cls }, seriesPerBatch: 10 }] },
      ],
    });
    const rt = buildRuntime(config, { log: () => {} });
    t.after(() => rt.close());

    const err = await archiveRuns(env, rt, { group: 'infra', dataset: 'reach', month: MONTH }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, `the run must fail, got ${String(err)}`);
    const cause = (err.cause as { cause?: { type?: string; message?: string; details?: unknown[] } }).cause;
    assert.equal(cause?.type, 'Warp10TokenReach', cause?.message);
    const message = cause?.message ?? '';
    assert.match(message, /^batch 1: the write token \(warp10\.writeToken\) would delete 1 series under /);
    assert.ok(message.includes(`(e.g. ${cls}{.app=${s.app},h=a})`), message);
    assert.match(message, /nothing was deleted/);
    assert.match(message, /Narrow the write token .* or widen the read token/);
    assert.equal((cause?.details?.[0] as { attempt: number }).attempt, 1, 'not retried');
    for (const secret of Object.values(tokens)) assert.ok(!message.includes(secret), 'no token in the error');

    assert.deepEqual(await everyPoint(w, tokens, cls), ALL, 'every point of every series still there');
  });

  test("bad input: the same tokens on a partition batch's guarded delete (one selector, wrap digest) — WRITE_TOKEN_REACH, nothing deleted, every point still there", async (t) => {
    const s = setup(t);
    if (!s) return;
    const { w, tokens, cls } = s;
    await seed(w, tokens, cls);
    assert.deepEqual(await everyPoint(w, tokens, cls), ALL);
    const config = testConfig({
      warp10Url: w.url,
      groups: [{ name: 'infra', datasets: [{ name: 'reach', selector: { class: cls } }] }],
    });
    const rt = buildRuntime(config, { log: () => {} });
    t.after(() => rt.close());
    const selector = `${cls}{}`;
    const range = { start: S, end: E - 1 };
    // What the read token reads of the partition, digested as the export does.
    const [pairs] = await rt.runner.run<[[string, string][]]>('archive-read-partition', {
      token: tokens.read,
      selector,
      ...range,
    });
    assert.equal(pairs.length, 2, 'the read token reads a and c');
    const refused = await rt.runner
      .run('archive-delete-partition', {
        readToken: tokens.read,
        writeToken: tokens.write1,
        selector,
        ...range,
        wrap: wrapDigest(pairs.map((p) => p[1])),
        live: pairs.length,
      })
      .then(
        (r) => r,
        (e: unknown) => e,
      );
    assert.ok(refused instanceof WarpScriptError, `refused, got ${JSON.stringify(refused)}`);
    assert.match(refused.warpMessage, /WRITE_TOKEN_REACH 1 /);
    const failure = toFailure(refused, 7);
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, 'Warp10TokenReach');
    assert.match(
      failure.message,
      /^batch 7: the write token \(warp10\.writeToken\) would delete 1 series under /,
    );
    assert.deepEqual(await everyPoint(w, tokens, cls), ALL, 'every point of every series still there');
  });
});
