// The monthly run's own activities: settings from the config, the group's dataset list (discovery,
// frozen in the store, paged), run in a MockActivityEnvironment. Discovery runs against the real
// Warp 10 when there is one (skipped in CI), and against a stub WarpScript runner otherwise.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createOffloadActivities, datasetListKey } from '../../src/activities/offload.ts';
import type { OffloadConfig } from '../../src/config/schema.ts';
import { createStore } from '../../src/store/index.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { httpRunner } from '../../src/warp10/runner.ts';
import { testConfig, tempDir } from '../support/config.ts';
import { discoveryRunner } from '../support/monthly-stubs.ts';
import { toInputFormat } from '../support/seed.ts';
import { uniqueId, warp10OrSkip } from '../support/stack.ts';

const COUNT_FIND = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'count-find.mc2');

function activities(config: OffloadConfig, runner = discoveryRunner({})) {
  const store = createStore({ type: 'local', path: tempDir('offload-acts') });
  return { store, runner, acts: createOffloadActivities({ config, store, runner, tokens: { read: 'r' } }) };
}

const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> =>
  new MockActivityEnvironment().run(fn, ...args) as Promise<R>;

const groups = [
  {
    name: 'infra',
    mode: 'parallel',
    concurrency: 3,
    datasets: [{ name: 'os-cpu', selector: { class: 'os.cpu' } }],
  },
  { name: 'clients', discover: { selector: { class: 'client.http' }, byLabel: 'owner', seriesPerBatch: 50 } },
];

describe('offload activities', () => {
  test('offloadSettings: the month before the nominal time in the configured zone, the groups in order', async () => {
    const { acts } = activities(testConfig({ groups, timezone: 'Europe/Paris' }));
    // 1 March 2026 00:30 in Paris is still February in UTC: the zone decides.
    const s = await run(acts.offloadSettings, { nominalTime: '2026-02-28T23:30:00Z' });
    assert.equal(s.month, '2026-02');
    assert.equal(s.timezone, 'Europe/Paris');
    assert.equal(s.successSummary, false);
    assert.deepEqual(s.groups, [
      { name: 'infra', mode: 'parallel', concurrency: 3, datasets: 1, discover: false },
      { name: 'clients', mode: 'sequential', concurrency: 4, datasets: 0, discover: true },
    ]);
    const only = await run(acts.offloadSettings, { month: '2026-01', groups: ['clients', 'infra'] });
    assert.equal(only.month, '2026-01');
    assert.deepEqual(
      only.groups.map((g) => g.name),
      ['infra', 'clients'],
      'configured order, whatever the order asked',
    );
  });

  test('offloadSettings: an invalid month or group is a non-retryable failure saying what is wrong', async () => {
    const { acts } = activities(testConfig({ groups }));
    const cases: [{ month?: string; groups?: string[] }, string, RegExp][] = [
      [{ month: '2026-1' }, 'InvalidInput', /expected YYYY-MM/],
      [{ month: '2999-01' }, 'InvalidInput', /in the future/],
      [{ groups: ['nope'] }, 'ConfigError', /No group "nope".*configured groups: infra, clients/],
    ];
    for (const [input, type, pattern] of cases) {
      await assert.rejects(run(acts.offloadSettings, input), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure, String(err));
        assert.equal(err.type, type);
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, pattern);
        return true;
      });
    }
  });

  test('offloadSettings: the success summary follows slack.successSummary', async () => {
    const on = activities(testConfig({ groups, slack: { webhookUrl: { env: 'W' }, successSummary: {} } }));
    assert.equal((await run(on.acts.offloadSettings, { month: '2026-01' })).successSummary, true);
    const off = activities(
      testConfig({ groups, slack: { webhookUrl: { env: 'W' }, successSummary: { enabled: false } } }),
    );
    assert.equal((await run(off.acts.offloadSettings, { month: '2026-01' })).successSummary, false);
  });

  test('prepareGroup lists configured then discovered datasets once, frozen; groupDatasets pages through it', async () => {
    const config = testConfig({
      groups: [
        {
          name: 'clients',
          datasets: [{ name: 'acme', selector: { class: 'legacy' } }],
          discover: groups[1]?.discover,
        },
      ],
    });
    const values = Array.from({ length: 25_000 }, (_, i) => `Customer ${String(i).padStart(5, '0')}`);
    const runner = discoveryRunner({ 'client.http': [...values, 'acme'] });
    const { acts, store } = activities(config, runner);
    const ref = { group: 'clients', month: '2026-01', snapshotId: 'run-1' };
    const prep = await run(acts.prepareGroup, ref);
    assert.deepEqual(prep, {
      snapshot: datasetListKey(ref),
      total: 25_002,
      configured: 1,
      discovered: 25_001,
    });
    assert.equal(runner.runs, 3, 'discovery pages of 10,000 series');
    assert.deepEqual(await run(acts.prepareGroup, ref), prep, 'a retry reuses the frozen list');
    assert.equal(runner.runs, 3);
    assert.ok((await store.getText(prep.snapshot)).includes('"byLabel": "owner"'));

    const first = await run(acts.groupDatasets, { snapshot: prep.snapshot, offset: 0, limit: 3 });
    assert.deepEqual(first[0], { name: 'acme' });
    assert.equal(first[1]?.selector?.labels.owner, '=Customer 00000');
    assert.equal(first[1]?.seriesPerBatch, 50);
    assert.match(first[1]?.name ?? '', /^customer-00000-[0-9a-f]{8}$/);
    // The discovered value "acme" does not take the configured dataset's name.
    const last = await run(acts.groupDatasets, { snapshot: prep.snapshot, offset: 25_000, limit: 200 });
    assert.equal(last.length, 2);
    assert.equal(last[1]?.selector?.labels.owner, '=acme');
    assert.match(last[1]?.name ?? '', /^acme-[0-9a-f]{8}$/);
  });

  test('discovery on the real Warp 10: every distinct label value, each selecting exactly its series', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.discover').replace(/-/g, '.');
    const owners = ['acme', 'ACME', 'Globex Corp', '~weird', '=abc', 'été ✓', 'a,b{c}=d'];
    const series = [
      ...owners.map((owner, i) => ({ cls, labels: { owner, host: `h${i}` }, points: [{ ts: 1, value: i }] })),
      { cls, labels: { owner: 'acme', host: 'second' }, points: [{ ts: 1, value: 99 }] },
      { cls, labels: { host: 'no-owner' }, points: [{ ts: 1, value: 100 }] },
    ];
    const client = new Warp10Client({ url: w.url });
    await client.update(w.writeToken, toInputFormat(series));
    const runner = httpRunner(client);
    const config = testConfig({
      groups: [{ name: 'clients', discover: { selector: { class: cls }, byLabel: 'owner' } }],
    });
    const store = createStore({ type: 'local', path: tempDir('offload-discover') });
    const acts = createOffloadActivities({ config, store, runner, tokens: { read: w.readToken } });
    try {
      const prep = await run(acts.prepareGroup, { group: 'clients', month: '2026-01', snapshotId: 'x' });
      assert.equal(prep.discovered, owners.length);
      const list = await run(acts.groupDatasets, { snapshot: prep.snapshot, offset: 0, limit: 100 });
      assert.deepEqual(list.map((d) => d.selector?.labels.owner).sort(), owners.map((o) => `=${o}`).sort());
      for (const d of list) {
        const [found]: [number] = await runner.run<[number]>(COUNT_FIND, {
          token: w.readToken,
          class: d.selector?.class ?? '',
          labels: d.selector?.labels ?? {},
        });
        const owner = d.selector?.labels.owner?.slice(1);
        assert.equal(found, owner === 'acme' ? 2 : 1, `${d.name} selects ${found} series`);
      }
    } finally {
      await client.close();
    }
  });
});
