// The archive workflow on the real Warp 10 with series whose labels extend other series' labels
// ({host=h1} and {core=1,host=h1}): a selector matches both, so the guarded delete must never meet a
// series whose "extension" still has data in a later batch. Warp 10 lists series in its own order, so
// without the plan putting series with more labels first, the delete refused (AMBIGUOUS_SELECTOR) on
// every run. Real Temporal, real Warp 10 (skips without it), real store.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { monthRange } from '../../src/month.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { testConfig } from '../support/config.ts';
import { temporalEnv, uniqueId, warp10OrSkip } from '../support/stack.ts';
import { dumpClass } from '../support/points.ts';

const MONTH = '2026-10';
const S = Number(monthRange(MONTH, 'UTC').startUs);

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
