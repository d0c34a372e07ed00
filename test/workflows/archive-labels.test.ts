// The archive workflow on the real Warp 10 with series whose labels extend other series' labels
// ({host=h1} and {core=1,host=h1}): a selector matches both, so the guarded delete must never meet a
// series whose "extension" still has data in a later batch. Warp 10 lists series in its own order, so
// without the plan putting series with more labels first, the delete refused (AMBIGUOUS_SELECTOR) on
// every run. Real Temporal, real Warp 10 (skips without it), real store.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { auditMonth } from '../../src/archive/audit.ts';
import { planKey, type MonthRef } from '../../src/archive/layout.ts';
import { PlanSchema } from '../../src/archive/manifest.ts';
import { monthRange } from '../../src/month.ts';
import { groupSelectors } from '../../src/warp10/selectors.ts';
import { literal } from '../../src/warp10/warpscript.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { LOCAL_ARCHIVE } from '../../scripts/stack/extension.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { testConfig } from '../support/config.ts';
import { enc } from '../support/nasty-month.ts';
import { dumpFull, restoreRuns } from '../support/restore-run.ts';
import { temporalEnv, uniqueId, warp10OrSkip, type Warp10Stack } from '../support/stack.ts';
import { dumpClass } from '../support/points.ts';

const MONTH = '2026-10';
const S = Number(monthRange(MONTH, 'UTC').startUs);
const E = Number(monthRange(MONTH, 'UTC').endUs);

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

test('series extending other series (more labels) are all archived, in any order Warp 10 lists them', async (t) => {
  const w = warp10OrSkip(t);
  if (!w) return;
  const cls = uniqueId('test.labels').replace(/-/g, '.');
  const config = testConfig({
    groups: [{ name: 'infra', datasets: [{ name: 'ds', selector: { class: cls }, seriesPerBatch: 5 }] }],
  });
  const rt = buildRuntime(config);
  // 36 series in 8 batches: with Warp 10's order some {host=hN} comes before its extensions.
  const lines: string[] = [];
  for (let i = 0; i < 12; i++) {
    lines.push(`${S + 100 + i}// ${cls}{host=h${i}} 1`);
    lines.push(`${S + 200 + i}// ${cls}{host=h${i},core=${i % 3}} 2`);
    lines.push(`${S + 300 + i}// ${cls}{host=h${i},zz=${i}} 3`);
  }
  lines.push(`${S - 1}// ${cls}{host=h0,core=0} 9`);
  await rt.client.update(rt.tokens.write, lines.join('\n'));
  try {
    const ref = { group: 'infra', dataset: 'ds', month: MONTH };
    const [result] = await archiveRuns(env, rt, ref);
    assert.ok(result);
    assert.equal(result.status, 'archived');
    assert.deepEqual([result.batches, result.series, result.points], [8, 36, 36]);
    assert.deepEqual(
      (await dumpClass(w, cls)).flatMap(([, ticks]) => ticks),
      [S - 1],
      'only the point before the month is left',
    );
  } finally {
    await rt.close();
  }
});

// Label values that break a selector built carelessly: every printable ASCII character (in runs of four,
// so one value starts or ends with a space), the characters encodeURIComponent leaves raw (`~ ! ' ( ) *`;
// Warp 10 splits a regex term on `~`), separators and escapes of the selector syntax, and characters
// outside ASCII and outside the BMP. Every one of them lands in a regex (grouped batches, partitions).
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const NASTY_VALUES = [
  ...Array.from({ length: 24 }, (_, i) => PRINTABLE.slice(i * 4, i * 4 + 4)),
  ...['PROGRA~1', 'PROGRA~2', '~user', 'a~b~c', '~1.2', "it's", '(x)', 'a*b', 'wow!', '%41', '%', 'a,b=c'],
  ...['{x}', '=', ' ', '~', '😀', '~😀 é', 'trailing ', '+plus', '\\E.*'],
];
/** The label whose values vary (a name holding `~` and `*` too) and one every series holds. */
const VARYING = 'pa~th*';
const FIXED = "k(!'=)";

/** Input-format name of a series of `cls` with `value` in VARYING. */
const seriesText = (cls: string, value: string) =>
  `${enc(cls)}{${enc(VARYING)}=${enc(value)},${enc(FIXED)}=${enc('~fixed ~')}}`;

interface GtsJson {
  c: string;
  l: Record<string, string>;
  a: Record<string, string>;
  v: unknown[][];
}

/** The series a FETCH-like call gives (`call` takes the parameter map), sorted by class and labels. */
async function fetched(w: Warp10Stack, prefix: string, params: string, call: string): Promise<GtsJson[]> {
  const res = await fetch(`${w.url}/api/v0/exec`, {
    method: 'POST',
    body: `${prefix} ${params} ${call} <% SORT %> F LMAP`,
  });
  const text = await res.text();
  assert.ok(res.ok, `${call}: ${res.headers.get('x-warp10-error-message') ?? text.slice(0, 500)}`);
  const key = (g: GtsJson) => `${g.c} ${JSON.stringify(Object.entries(g.l).sort())}`;
  return ((JSON.parse(text) as unknown[])[0] as GtsJson[]).sort((a, b) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0,
  );
}

/**
 * Seeds `lines` into a class of its own, archives its month into the store ARCHIVE.FETCH reads, checks
 * the archive (audit), reads it in place through ARCHIVE.FETCH (whole class, an exact selector and a
 * regex on values holding `~`, as FETCH gave them before) and restores it: Warp 10 then holds the month
 * point for point as before. `dataset` settings choose the batching.
 */
async function roundTrip(
  w: Warp10Stack,
  cls: string,
  lines: string[],
  dataset: { seriesPerBatch?: number; pointsPerBatch?: number },
  expected: { series: number; points: number },
): Promise<ReturnType<typeof PlanSchema.parse>> {
  const name = cls.replace(/[^a-z0-9]/g, '');
  const config = testConfig({
    groups: [{ name: 'labels', datasets: [{ name, selector: { class: cls }, ...dataset }] }],
    store: { type: 'local', path: LOCAL_ARCHIVE },
  });
  const rt = buildRuntime(config);
  const ref: MonthRef = { group: 'labels', dataset: name, month: MONTH };
  const T = literal(w.readToken);
  const params = (selector: string) =>
    `{ 'token' ${T} 'selector' ${literal(selector)} 'start' ${S} 'end' ${E - 1} }`;
  // Selectors as a user of ARCHIVE.FETCH writes them, every part encoded (by the tests' own encoder:
  // the product's is what is under test).
  const e = enc;
  const queries = {
    'the whole class': `${e(cls)}{}`,
    'an exact value ~': `${e(cls)}{${e(VARYING)}=${e('~')}}`,
    'a regex of values holding ~ ( ) *': `${e(cls)}{${e(VARYING)}~${e('(PROGRA~1|~user|a~b~c|\\(x\\)|a\\*b|~😀 é)')}}`,
  };
  try {
    for (let i = 0; i < lines.length; i += 5_000)
      await rt.client.update(rt.tokens.write, lines.slice(i, i + 5_000).join('\n'));
    const live = await dumpFull(w, cls, S, E - 1);
    assert.equal(live.length, expected.series, 'every series seeded');
    const before: Record<string, GtsJson[]> = {};
    for (const [q, sel] of Object.entries(queries)) before[q] = await fetched(w, '', params(sel), 'FETCH');
    assert.equal(before['a regex of values holding ~ ( ) *']!.length, 6);

    const [result] = await archiveRuns(env, rt, ref);
    assert.ok(result);
    assert.equal(result.status, 'archived');
    assert.deepEqual([result.series, result.points], [expected.series, expected.points]);
    assert.deepEqual(await dumpFull(w, cls, S, E - 1), [], 'nothing of the month left live');

    const audit = await auditMonth(rt.store, ref);
    assert.deepEqual(audit.problems, []);
    assert.deepEqual(
      [audit.ok, audit.batches, audit.series, audit.points],
      [true, result.batches, expected.series, expected.points],
    );

    for (const [q, sel] of Object.entries(queries)) {
      assert.deepEqual(await fetched(w, `${T} CAPADD`, params(sel), 'ARCHIVE.FETCH'), before[q], q);
    }

    const [restored] = await restoreRuns(env, rt, [ref]);
    assert.equal(restored?.status, 'fulfilled', String((restored as PromiseRejectedResult).reason));
    assert.deepEqual([restored.value.series, restored.value.points], [expected.series, expected.points]);
    assert.deepEqual(await dumpFull(w, cls, S, E - 1), live, 'restored point for point');
    return PlanSchema.parse(JSON.parse(await rt.store.getText(planKey(ref))));
  } finally {
    await rt.close();
  }
}

test("bad input: label values spanning every printable ASCII character, ~ ! ' ( ) * % { } , = space and 😀, 4 series a batch grouped by regex — archived, verified, restored and read back through ARCHIVE.FETCH point for point", async (t) => {
  const w = warp10OrSkip(t);
  if (!w) return;
  if (process.env.WARP10_MANAGED === 'external') {
    t.skip('ARCHIVE.FETCH is loaded into the stack Warp 10 only (WARP10_URL names another one)');
    return;
  }
  const cls = uniqueId('test.labelchars').replace(/-/g, '.');
  const lines = NASTY_VALUES.flatMap((v, i) => [
    `${S + i}// ${seriesText(cls, v)} ${i}`,
    `${E - 1 - i}// ${seriesText(cls, v)} '${enc(v)}'`,
  ]);
  const plan = await roundTrip(
    w,
    cls,
    lines,
    { seriesPerBatch: 4 },
    {
      series: NASTY_VALUES.length,
      points: 2 * NASTY_VALUES.length,
    },
  );
  // Batches of 4 series of one class differing in one label: each read and deleted by one regex.
  assert.equal(plan.partitions, undefined);
  assert.equal(plan.batches.length, Math.ceil(NASTY_VALUES.length / 4));
  let byRegex = 0;
  for (const b of plan.batches) {
    assert.ok(Array.isArray(b));
    const groups = groupSelectors(b);
    assert.equal(groups.length, 1, JSON.stringify(b));
    // The name as TOSELECTOR wrote it (`*` raw), then the regex (a batch of one: its own selector).
    if (b.length > 1) {
      assert.ok(groups[0]!.selector.includes(',pa%7Eth*~%5E%28%3F%3A'), groups[0]!.selector);
      byRegex++;
    }
  }
  assert.equal(byRegex, Math.floor(NASTY_VALUES.length / 4));
});

test('bad input: the same label values in the prefix partitions of a class of 10,000+ series (prefixes and exact values of every printable ASCII character, ~ and 😀 among them) — archived, verified, restored and read back through ARCHIVE.FETCH point for point', async (t) => {
  const w = warp10OrSkip(t);
  if (!w) return;
  if (process.env.WARP10_MANAGED === 'external') {
    t.skip('ARCHIVE.FETCH is loaded into the stack Warp 10 only (WARP10_URL names another one)');
    return;
  }
  const cls = uniqueId('test.labelparts').replace(/-/g, '.');
  // Every character first and second; the values starting with `~` are more than a partition holds,
  // so they split again by their second character, and `~` itself is an exact value of its own.
  const chars = [...PRINTABLE, '😀', 'é'];
  const values = new Set<string>(NASTY_VALUES);
  for (let i = 0; i < 80 * chars.length; i++)
    values.add(`${chars[i % chars.length]}${chars[Math.floor(i / chars.length)]}${i.toString(36)}`);
  for (let j = 0; j < 2_500; j++) values.add(`~${chars[j % chars.length]}${j.toString(36)}`);
  const lines = [...values].map((v, i) => `${S + (i % 100_000)}// ${seriesText(cls, v)} ${i}`);
  const plan = await roundTrip(
    w,
    cls,
    lines,
    { pointsPerBatch: 2_000 },
    {
      series: values.size,
      points: values.size,
    },
  );
  assert.ok(plan.partitions, 'the plan is partitioned');
  assert.equal(plan.partitions.label, VARYING);
  const parts = plan.batches.filter((b) => !Array.isArray(b));
  assert.ok(parts.length >= 4, `${parts.length} partitions`);
  const prefixes = new Set(parts.flatMap((p) => (Array.isArray(p) ? [] : p.prefixes)));
  const exact = new Set(parts.flatMap((p) => (Array.isArray(p) ? [] : p.exact)));
  for (const c of chars.filter((x) => x !== '~')) assert.ok(prefixes.has(c), `a partition of prefix ${c}`);
  for (const c of chars) assert.ok(prefixes.has(`~${c}`), `a partition of prefix ~${c}`);
  assert.ok(exact.has('~'), 'the exact value ~ in a partition');
});
