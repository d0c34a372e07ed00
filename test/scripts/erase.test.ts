// npm run erase on the real stack: two archived months of two customers' series (and one series selected
// by an attribute alone). A dry run changes nothing; the erasure leaves ARCHIVE.FETCH, restore's plan,
// verify-archive and the manifests agreeing, the other customer's series read back point for point as
// before, no byte of the store (raw or gunzipped) naming the erased customer, and a record without the
// selector; a second run erases nothing again and, with --hot, deletes the series from the hot Warp 10.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { listErasures, type EraseRequest } from '../../src/activities/erase.ts';
import { CATALOG_KEY } from '../../src/archive/catalog.ts';
import { monthManifestKey, monthPrefix, type MonthRef } from '../../src/archive/layout.ts';
import { planRestore } from '../../src/restore/plan.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import type { EraseResult } from '../../src/workflows/erase.ts';
import { LOCAL_ARCHIVE } from '../../scripts/stack/extension.ts';
import { archiveRuns, eraseRun } from '../support/archive-run.ts';
import { exec } from '../support/cold-tier.ts';
import { writeConfigFile } from '../support/config.ts';
import { utcMonth } from '../support/month.ts';
import { enc } from '../support/nasty-month.ts';
import { temporalEnv, uniqueId, warp10OrSkip, type Warp10Stack } from '../support/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MONTHS = ['2024-02', '2024-03'];
const H = 3_600_000_000;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

function cli(script: string, configFile: string, args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, OFFLOAD_CONFIG: configFile },
  });
}

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** A file's bytes, and gunzipped too when it is gzip (multi-member included). */
function readable(file: string): string {
  const raw = readFileSync(file);
  const text = raw.toString('latin1');
  return raw[0] === 0x1f && raw[1] === 0x8b ? `${text}\n${gunzipSync(raw).toString('latin1')}` : text;
}

interface GtsJson {
  c: string;
  l: Record<string, string>;
  a: Record<string, string>;
  v: unknown[][];
}

async function archived(w: Warp10Stack, selector: string): Promise<GtsJson[]> {
  const { S } = utcMonth(MONTHS[0]!);
  const { E } = utcMonth(MONTHS[1]!);
  const r = await exec(
    w.url,
    `'${w.readToken}' CAPADD { 'token' '${w.readToken}' 'selector' '${selector}' 'start' ${S} 'end' ${E - 1} } ARCHIVE.FETCH <% SORT %> F LMAP`,
  );
  assert.equal(r.error, undefined, r.error);
  const key = (g: GtsJson) => `${g.c} ${JSON.stringify(Object.entries(g.l).sort())}`;
  return (r.stack![0] as GtsJson[]).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

const erase = (rt: Runtime, args: EraseRequest) => eraseRun(env, rt, args);

describe('npm run erase (real Warp 10 with the extension, real Temporal)', () => {
  test("a customer's series erased from two archived months: dry run first, then gone from every reader and every byte, the rest as before; a rerun erases nothing twice; --hot deletes them from Warp 10", async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    if (process.env.WARP10_MANAGED === 'external') {
      t.skip('ARCHIVE.FETCH is loaded into the stack Warp 10 only (WARP10_URL names another one)');
      return;
    }
    const cls = uniqueId('test.erase').replace(/-/g, '.');
    const dataset = cls.replace(/[^a-z0-9]/g, '');
    const { file, config } = writeConfigFile({
      warp10Url: w.url,
      taskQueue: uniqueId('erase'),
      dataset,
      cls,
      seriesPerBatch: 3,
      extra: { store: { type: 'local', path: LOCAL_ARCHIVE } },
    });
    const rt = buildRuntime(config);
    try {
      // 5 hosts of each customer, 6 points a month; h9 belongs to acme by an attribute alone.
      const lines: string[] = [];
      for (const month of MONTHS) {
        const { S } = utcMonth(month);
        for (const customer of ['acme', 'beta'])
          for (let h = 0; h < 5; h++)
            for (let i = 0; i < 6; i++)
              lines.push(`${S + i * H}// ${enc(cls)}{customer=${customer},host=h${h}} ${h * 10 + i}`);
        for (let i = 0; i < 6; i++) lines.push(`${S + i * H}// ${enc(cls)}{host=h9} ${i}`);
      }
      await rt.client.update(rt.tokens.write, lines.join('\n'));
      const meta = await fetch(`${w.url}/api/v0/meta`, {
        method: 'POST',
        headers: { 'X-Warp10-Token': w.writeToken },
        body: `${enc(cls)}{host=h9}{customer=acme}`,
      });
      assert.equal(meta.status, 200, await meta.text());
      const refs: MonthRef[] = MONTHS.map((month) => ({ group: 'infra', dataset, month }));
      for (const ref of refs) {
        const [r] = await archiveRuns(env, rt, ref);
        assert.equal(r?.points, 11 * 6, `${ref.month} archived`);
      }
      const acme = `${enc(cls)}{customer=acme}`;
      const beta = `${enc(cls)}{customer=beta}`;
      const before = { acme: await archived(w, acme), beta: await archived(w, beta) };
      assert.equal(before.acme.length, 6, 'acme: 5 series by label, h9 by attribute');
      assert.equal(before.beta.length, 5);
      const monthFiles = () =>
        refs.flatMap((r) => files(path.join(LOCAL_ARCHIVE, ...monthPrefix(r).split('/').filter(Boolean))));
      const snapshot = () =>
        monthFiles()
          .map((f) => `${f} ${readFileSync(f).toString('base64')}`)
          .sort();

      // A dry run: what it would erase, nothing changed.
      const untouched = snapshot();
      const dry = await erase(rt, { selector: acme, from: MONTHS[0], to: MONTHS[1], dryRun: true });
      assert.equal(dry.status, 'dry-run');
      const mine = (r: EraseResult) => r.months.filter((m) => m.dataset === dataset);
      assert.deepEqual(
        mine(dry).map((m) => [m.month, m.status, m.series, m.points]),
        MONTHS.map((m) => [m, 'would erase', 6, 36]),
      );
      assert.equal(dry.record, undefined);
      assert.deepEqual(snapshot(), untouched, 'a dry run changes nothing');

      const done = await erase(rt, { selector: acme, from: MONTHS[0], to: MONTHS[1] });
      assert.equal(done.status, 'erased');
      assert.deepEqual(
        mine(done).map((m) => [m.month, m.status, m.series, m.points]),
        MONTHS.map((m) => [m, 'erased', 6, 36]),
      );
      assert.ok(mine(done).every((m) => m.objects > 0 && m.bytesWritten > 0));

      // Every reader agrees: ARCHIVE.FETCH, restore's plan, verify-archive, the manifests.
      assert.deepEqual(await archived(w, acme), [], 'ARCHIVE.FETCH no longer sees them');
      assert.deepEqual(await archived(w, beta), before.beta, 'the other customer reads back as before');
      for (const ref of refs) {
        const m = JSON.parse(
          readFileSync(path.join(LOCAL_ARCHIVE, ...monthManifestKey(ref).split('/')), 'utf8'),
        ) as {
          series: number;
          points: number;
          revision: number;
          erasures: { series: number; points: number }[];
        };
        assert.deepEqual([m.series, m.points, m.revision], [5, 30, 2]);
        assert.deepEqual(
          m.erasures.map((e) => [e.series, e.points]),
          [[6, 36]],
        );
        const plan = await planRestore(rt.store, ref);
        assert.deepEqual([plan.series, plan.points], [5, 30], 'restore plans the 5 series left');
        const v = cli('verify-archive', file, ['--month', ref.month, '--dataset', dataset]);
        assert.equal(v.status, 0, v.stdout + v.stderr);
      }
      // No byte of the months, the catalogs or the records names the erased customer or h9.
      // catalog.json: this dataset's entry (the shared store holds other tests' datasets).
      const root = JSON.parse(readFileSync(path.join(LOCAL_ARCHIVE, CATALOG_KEY), 'utf8')) as {
        datasets: { dataset: string }[];
      };
      const entry = JSON.stringify(root.datasets.find((d) => d.dataset === dataset));
      assert.ok(!entry.includes('acme') && !entry.includes('h9'), entry);
      const catalogs = files(path.join(LOCAL_ARCHIVE, 'infra', dataset));
      const records = files(path.join(LOCAL_ARCHIVE, 'erasures'));
      for (const f of [...new Set([...monthFiles(), ...catalogs, ...records])]) {
        const text = readable(f);
        assert.ok(!text.includes('acme'), `${f} names the erased customer`);
        assert.ok(
          !text.includes('host=h9') && !text.includes('"h9"'),
          `${f} names the series erased by attribute`,
        );
      }
      const record = (await listErasures(rt.store)).find(
        (r) => r.id === done.record?.replace(/^erasures\/|\.json$/g, ''),
      );
      assert.ok(record, `record ${done.record} listed`);
      assert.equal(record.selectorHmac, createHmac('sha256', w.writeToken).update(acme).digest('hex'));
      assert.deepEqual([record.series, record.points, record.hot], [12, 72, false]);

      // Again, with --hot: nothing left in the archive to erase; the hot Warp 10 forgets the series.
      const { S } = utcMonth('2024-05');
      await rt.client.update(
        rt.tokens.write,
        `${S}// ${enc(cls)}{customer=acme,host=h0} 1\n${S}// ${enc(cls)}{customer=beta,host=h0} 1`,
      );
      const again = await erase(rt, { selector: acme, from: MONTHS[0], to: MONTHS[1], hot: true });
      assert.deepEqual(
        mine(again).map((m) => m.status),
        ['nothing', 'nothing'],
        'erases nothing twice',
      );
      assert.ok((again.hotSeries ?? 0) >= 5, `hot series deleted: ${again.hotSeries}`);
      const find = async (sel: string) =>
        (await exec(w.url, `{ 'token' '${w.readToken}' 'selector' '${sel}' } FIND SIZE`)).stack?.[0];
      assert.equal(await find(acme), 0, 'no acme series left in the hot Warp 10');
      assert.equal(await find(beta), 5, 'beta untouched in the hot Warp 10');
    } finally {
      await rt.close();
    }
  });
});
