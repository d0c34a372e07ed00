// The Temporal Web UI as operators see it, in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core; no browser download): the list filtered by OffloadMonth shows the month's runs with
// their summaries, an archive's page shows its summary, current details and one named activity per
// batch, and the failure workflow's summary names the failed phase and batch. Screenshots are saved
// under .data/screenshots/ (git-ignored).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startArchive } from '../../src/client/archive.ts';
import { monthRange } from '../../src/month.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { testConfig } from '../support/config.ts';
import { toInputFormat } from '../support/seed.ts';
import { temporalEnv, uniqueId, warp10OrSkip, workflowBundle } from '../support/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SHOTS = path.join(ROOT, '.data', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MONTH = '2025-11';
const S = Number(monthRange(MONTH, 'UTC').startUs);
const BROKEN = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'broken-export.mc2');

let env: TestWorkflowEnvironment;
let browser: Browser | undefined;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await browser?.close();
  await env?.teardown();
});

async function openPage(): Promise<Page> {
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1800, height: 1000 } });
  page.setDefaultTimeout(30_000);
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** The page's visible text, frames included (the UI renders summaries and details in sandboxed frames). */
async function pageText(page: Page): Promise<string> {
  const texts = await Promise.all(
    page
      .frames()
      .map((f) => f.evaluate<string>('document.body ? document.body.innerText : ""').catch(() => '')),
  );
  return texts.join('\n');
}

/** Reloads until every text is on the page: the UI polls visibility, which lags a run by a moment. */
async function waitForText(page: Page, url: string, texts: string[], timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await page.goto(url, { waitUntil: 'networkidle' });
    for (let i = 0; i < 10; i++) {
      const body = await pageText(page);
      if (texts.every((t) => body.includes(t))) return body;
      if (i === 9 && Date.now() > deadline) {
        const missing = texts.filter((t) => !body.includes(t));
        assert.fail(`${url} never showed ${JSON.stringify(missing)}; page text:\n${body.slice(0, 3000)}`);
      }
      await page.waitForTimeout(1_000);
    }
  }
}

describe('Temporal Web UI (headless Chromium)', () => {
  test('the month list, an archive with its batches, and a failure name what they are about', async (t) => {
    if (!existsSync(CHROMIUM)) {
      const why = `no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`;
      // CI installs it (.ci/run): there a missing browser is a failure, not a skip.
      if (process.env.CI) assert.fail(why);
      t.skip(why);
      return;
    }
    const w = warp10OrSkip(t);
    if (!w) return;
    const group = uniqueId('ui');
    const cls = group.replace(/-/g, '.');
    const c = new Warp10Client({ url: w.url });
    const series = Array.from({ length: 6 }, (_, i) => ({
      cls,
      labels: { host: `h${i}` },
      points: Array.from({ length: 100 }, (_, p) => ({ ts: S + p * 60_000_000, value: p + i })),
    }));
    await c.update(w.writeToken, toInputFormat(series));
    await c.close();

    const taskQueue = uniqueId('web-ui');
    const config = {
      ...testConfig({
        warp10Url: w.url,
        groups: [
          {
            name: group,
            datasets: [
              // Two lanes, not the default four: the history below names the two batches that start
              // before any batch size is known, and the third, which starts knowing its size.
              { name: 'cpu', selector: { class: cls }, seriesPerBatch: 2, batchConcurrency: 2 },
              {
                name: 'broken',
                selector: { class: cls },
                seriesPerBatch: 4,
                templates: { export: BROKEN },
              },
            ],
          },
        ],
      }),
    };
    config.temporal = { ...config.temporal, taskQueue };
    const rt = buildRuntime(config);
    const worker = await createOffloadWorker({
      connection: env.nativeConnection,
      runtime: rt,
      workflowBundle: await workflowBundle(),
    });
    const good = { group, dataset: 'cpu', month: MONTH };
    const bad = { group, dataset: 'broken', month: MONTH };
    const ui = process.env.TEMPORAL_UI_URL ?? config.temporal.uiUrl;
    const wfUrl = (id: string, runId: string, tab: string) =>
      `${ui}/namespaces/default/workflows/${encodeURIComponent(id)}/${runId}/${tab}`;
    // The worker keeps running while the browser looks: current details are answered by the worker.
    await worker.runUntil(async () => {
      const ok = await startArchive(env.client, config, good);
      const ko = await startArchive(env.client, config, bad);
      await env.client.workflow.getHandle(ok.workflowId, ok.runId).result();
      await assert.rejects(env.client.workflow.getHandle(ko.workflowId, ko.runId).result());
      let failure: { workflowId: string; runId: string } | undefined;
      for await (const f of env.client.workflow.list({
        query: `WorkflowType = 'archiveFailure' AND OffloadGroup = '${group}'`,
      })) {
        await env.client.workflow.getHandle(f.workflowId, f.runId).result();
        failure = f;
      }
      assert.ok(failure, 'the failure workflow ran');

      const page = await openPage();
      try {
        // 1. The list filtered by OffloadMonth (and this test's group), with the offloader's search
        //    attributes added as columns the way an operator does it (Configure Columns).
        const query = `OffloadMonth="${MONTH}" AND OffloadGroup="${group}"`;
        const listUrl = `${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
        await waitForText(page, listUrl, [ok.workflowId, ko.workflowId, failure.workflowId]);
        // What "Configure Columns" saves: the offloader's search attributes next to the ID.
        const columns = [
          'Status',
          'Workflow ID',
          'Type',
          'OffloadDataset',
          'OffloadMonth',
          'OffloadPhase',
          'End',
        ];
        const saved = JSON.stringify({ default: columns.map((label) => ({ label })) });
        await page.evaluate(
          `localStorage.setItem('namespace-workflow-table-columns', ${JSON.stringify(saved)})`,
        );
        await waitForText(page, listUrl, [
          ok.workflowId,
          'OffloadDataset',
          'OffloadPhase',
          'broken',
          'failed',
          'done',
        ]);
        await shot(page, '1-list-by-month');

        // 2. The archive's User Metadata: summary, details, and current details from the worker.
        await waitForText(page, wfUrl(ok.workflowId, ok.runId, 'user-metadata'), [
          `${group}/cpu ${MONTH} — archive`,
          `Archive of dataset ${group}/cpu for month ${MONTH}`,
          `${group}/cpu ${MONTH} — done: 3 batches, 6 series, 600 points`,
        ]);
        await shot(page, '2-archive-user-metadata');

        // 3. Its history names every activity, batch by batch.
        const names = [
          `plan ${group}/cpu ${MONTH}`,
          // Batches run two at a time: the first two start before any batch size is known.
          'export batch 1/3',
          'export batch 2/3',
          'export batch 3/3 (2 series)',
          'verify batch 1/3 (2 series)',
          'verify batch 3/3 (2 series)',
          'delete batch 1/3 (2 series)',
          'delete batch 3/3 (2 series)',
          `commit ${group}/cpu ${MONTH} (3 batches)`,
        ];
        await waitForText(page, wfUrl(ok.workflowId, ok.runId, 'history'), names);
        await shot(page, '3-archive-history');
        await page.goto(wfUrl(ok.workflowId, ok.runId, 'timeline'), { waitUntil: 'networkidle' });
        await shot(page, '4-archive-timeline');

        // 4. The compensating workflow's summary names the failed phase and batch (a child's summary is
        //    shown in its history; the server does not return it in a child's description).
        // Both batches run at once: whichever fails first is the one named.
        const failed = await waitForText(page, wfUrl(failure.workflowId, failure.runId, 'history'), [
          `${group}/broken ${MONTH} — FAILED in export, batch `,
        ]);
        assert.match(
          failed,
          new RegExp(`${group}/broken ${MONTH} — FAILED in export, batch [12]/2: WarpScriptError`),
        );
        await shot(page, '5-failure-history');
      } finally {
        await page.close();
      }
    });
    await rt.close();
  });
});
