// The erase workflow's failure paths on the real stack: a store failing the writes of the new objects
// (retried, the month erased, nothing lost), and a damaged month (nothing erased there, the month left as
// it was and not held, a Slack alert — through the real client to a local fake of Slack's API — that never
// names the selector).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { auditMonth } from '../../src/archive/audit.ts';
import {
  batchManifestKey,
  eraseJournalKey,
  monthManifestKey,
  monthPrefix,
} from '../../src/archive/layout.ts';
import { readBatchManifest, readMonthManifest } from '../../src/archive/read.ts';
import { planRestore } from '../../src/restore/plan.ts';
import { createStore } from '../../src/store/index.ts';
import { StoreTransientError, type ArchiveStore } from '../../src/store/types.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { archiveRuns, eraseRun } from '../support/archive-run.ts';
import { tempDir, testConfig } from '../support/config.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import { utcMonth } from '../support/month.ts';
import { enc } from '../support/nasty-month.ts';
import { temporalEnv, uniqueId, warp10OrSkip, type Warp10Stack } from '../support/stack.ts';

const MONTH = '2024-09';
const H = 3_600_000_000;
const SLACK_TOKEN = 'xoxb-erase-test-token';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

/** A month of 3 acme and 3 beta series (6 points each), 2 series a batch, archived into `storePath`. */
async function archivedMonth(w: Warp10Stack, storePath: string, slack?: unknown) {
  const cls = uniqueId('test.erasewf').replace(/-/g, '.');
  const dataset = cls.replace(/[^a-z0-9]/g, '');
  const config = testConfig({
    warp10Url: w.url,
    groups: [{ name: 'infra', datasets: [{ name: dataset, selector: { class: cls }, seriesPerBatch: 2 }] }],
    store: { type: 'local', path: storePath },
    ...(slack ? { slack } : {}),
  });
  const rt = buildRuntime(config);
  const { S } = utcMonth(MONTH);
  const lines: string[] = [];
  for (const c of ['acme', 'beta'])
    for (let h = 0; h < 3; h++)
      for (let i = 0; i < 6; i++) lines.push(`${S + i * H}// ${enc(cls)}{customer=${c},host=h${h}} ${i}`);
  await rt.client.update(rt.tokens.write, lines.join('\n'));
  const ref = { group: 'infra', dataset, month: MONTH };
  const [r] = await archiveRuns(env, rt, ref);
  assert.equal(r?.points, 36);
  await rt.close();
  return { cls, dataset, config, ref };
}

describe('erase workflow: failure paths (real Warp 10, real Temporal, real store)', () => {
  test('fault: the store fails the writes of an erasure’s new objects (twice) — retried, the month erased, 0 points of the kept series lost', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const storePath = tempDir('erase-store-faults');
    const { cls, config, ref } = await archivedMonth(w, storePath);
    const real = createStore({ type: 'local', path: storePath });
    let failures = 0;
    const flaky: ArchiveStore = Object.assign(Object.create(real) as ArchiveStore, {
      put: (
        key: string,
        ...rest: Parameters<ArchiveStore['put']> extends [string, ...infer R] ? R : never
      ) => {
        if (/\.e-[0-9a-f]{16}\.wrap\.gz$/.test(key) && failures < 2) {
          failures++;
          return Promise.reject(
            new StoreTransientError('disk full (test)', { operation: 'put', key, code: 'ENOSPC' }),
          );
        }
        return real.put(key, ...rest);
      },
    });
    const rt = buildRuntime(config, { log: () => {}, store: flaky });
    try {
      const r = await eraseRun(env, rt, { selector: `${enc(cls)}{customer=acme}`, from: MONTH, to: MONTH });
      assert.equal(failures, 2, 'the store failed two writes');
      assert.deepEqual(
        r.months.map((m) => [m.status, m.series, m.points]),
        [['erased', 3, 18]],
      );
      const audit = await auditMonth(real, ref);
      assert.ok(audit.ok, JSON.stringify(audit.problems));
      const plan = await planRestore(real, ref);
      assert.deepEqual([plan.series, plan.points], [3, 18], 'every point of the kept series');
      assert.equal(await real.head(eraseJournalKey(ref)), undefined);
    } finally {
      await rt.close();
      await real.close();
    }
  });

  test('fault: an erasure meets a damaged month — ArchiveCorrupt, nothing erased there nor held, a Slack alert that never names the selector', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const slack = await startFakeSlack({ token: SLACK_TOKEN, channels: ['#ops'] });
    process.env.ERASE_WF_SLACK_TOKEN = SLACK_TOKEN;
    const storePath = tempDir('erase-damaged');
    const { cls, config, ref } = await archivedMonth(w, storePath, {
      token: { env: 'ERASE_WF_SLACK_TOKEN' },
      channel: '#ops',
      apiUrl: slack.apiUrl,
    });
    const store = createStore({ type: 'local', path: storePath });
    const rt = buildRuntime(config, { log: () => {} });
    try {
      // A byte flipped in the member holding acme's first series. Which batch holds it follows Warp 10's
      // directory order, which differs from one Warp 10 install to the next: it is looked up.
      let batch = 1;
      let bm = (await readBatchManifest(store, ref, batch))!;
      while (!bm.series.some((x) => x.selector.includes('customer=acme')))
        bm = (await readBatchManifest(store, ref, ++batch))!;
      const acme = bm.series.find((x) => x.selector.includes('customer=acme'))!;
      const file = path.join(storePath, ...bm.object.key.split('/'));
      const bytes = readFileSync(file);
      const at = (bm.object.members?.[acme.member ?? 0]?.offset ?? 0) + 20;
      bytes[at] = bytes[at]! ^ 0xff;
      writeFileSync(file, bytes);
      const manifestBefore = readFileSync(path.join(storePath, ...monthManifestKey(ref).split('/')));
      const batchBefore = readFileSync(path.join(storePath, ...batchManifestKey(ref, batch).split('/')));
      slack.reset();

      const selector = `${enc(cls)}{customer=acme}`;
      await assert.rejects(eraseRun(env, rt, { selector, from: MONTH, to: MONTH }), (e: unknown) =>
        /ArchiveCorrupt|does not match its SHA-256/.test(
          JSON.stringify(e, Object.getOwnPropertyNames(e)) +
            String((e as { cause?: { cause?: unknown } }).cause?.cause),
        ),
      );
      // The month as it was, not held: no journal, no new object, manifests unchanged.
      assert.deepEqual(
        readFileSync(path.join(storePath, ...monthManifestKey(ref).split('/'))),
        manifestBefore,
      );
      assert.deepEqual(
        readFileSync(path.join(storePath, ...batchManifestKey(ref, batch).split('/'))),
        batchBefore,
      );
      assert.equal(await store.head(eraseJournalKey(ref)), undefined, 'the archive is not held');
      const keys = (await store.list(monthPrefix(ref))).map((o) => o.key);
      assert.ok(!keys.some((k) => /\.e-[0-9a-f]{16}\./.test(k)), `no new object left: ${keys.join(' ')}`);
      assert.equal((await readMonthManifest(store, ref))?.revision ?? 1, 1);

      // The team hears of it, without the customer.
      const deadline = Date.now() + 30_000;
      while (slack.messages().length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      const [message] = slack.messages();
      assert.ok(message, 'a Slack alert');
      const text = JSON.stringify(message);
      assert.match(text, /Erasure failed/);
      assert.match(text, /ArchiveCorrupt/);
      assert.ok(!text.includes('acme') && !text.includes(selector), `the alert names the selector: ${text}`);
    } finally {
      await rt.close();
      await store.close();
      await slack.close();
    }
  });
});
