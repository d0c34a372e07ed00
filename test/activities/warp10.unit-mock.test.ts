// UNIT TEST with a MOCK WarpScript runner (no Warp 10): which script each activity sends, for
// configured and discovered datasets.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createWarp10Activities } from '../../src/activities/warp10.ts';
import { createStore } from '../../src/store/index.ts';
import type { WarpScriptRunner } from '../../src/warp10/runner.ts';
import { tempDir, testConfig } from '../support/config.ts';

const SEL = 'client.http{.app=x,owner=acme}';

function recordingRunner(scripts: string[]): WarpScriptRunner {
  return {
    async run<T>(script: string): Promise<T> {
      scripts.push(script);
      return [{ matched: 1, selectors: [SEL] }] as T;
    },
    async stream(script: string) {
      scripts.push(script);
      const body = JSON.stringify([[[SEL, 1, 10, 10, 'WRAPPED']]]);
      return (async function* () {
        yield new TextEncoder().encode(body);
      })();
    },
  };
}

describe('Warp 10 activities: scripts (mocked runner)', () => {
  test("a discovered dataset's export uses its group's discover.templates; a configured one the built-in", async () => {
    const config = testConfig({
      groups: [
        {
          name: 'clients',
          datasets: [{ name: 'known', selector: { class: 'client.http', labels: { owner: 'known' } } }],
          discover: {
            selector: { class: 'client.http' },
            byLabel: 'owner',
            templates: { export: '/opt/offloader/clients-export.mc2' },
          },
        },
      ],
    });
    const scripts: string[] = [];
    const acts = createWarp10Activities({
      config,
      store: createStore({ type: 'local', path: tempDir('acts') }),
      runner: recordingRunner(scripts),
      tokens: { read: 'r', write: 'w' },
    });
    const env = new MockActivityEnvironment();
    const month = '2026-10';
    for (const [dataset, extra] of [
      ['acme', { selector: { class: 'client.http', labels: { owner: '=acme' } }, seriesPerBatch: 10 }],
      ['known', {}],
    ] as const) {
      await env.run(acts.planMonth, { group: 'clients', dataset, month, ...extra });
      await env.run(acts.exportBatch, { group: 'clients', dataset, month, batch: 1 });
    }
    assert.deepEqual(scripts, [
      'archive-plan',
      '/opt/offloader/clients-export.mc2',
      'archive-plan',
      'archive-read',
    ]);
  });
});
