// ARCHIVE.FETCH (warp10-extension/) in the stack's real Warp 10, over a month the real archive workflow
// archived into the local defaults' store (.data/archive, which the stack configures it to read): the
// same WarpScript with FETCH swapped for ARCHIVE.FETCH gives, point for point, what FETCH gave before.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { batchManifestKey, batchObjectKey, type MonthRef } from '../../src/archive/layout.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { EXTENSION_DIR, LOCAL_ARCHIVE } from '../../scripts/stack/extension.ts';
import { foreignReadToken } from '../../scripts/stack/warp10.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { testConfig } from '../support/config.ts';
import { utcMonth } from '../support/month.ts';
import { NASTY_POINTS, NASTY_SERIES, enc, seedNasty } from '../support/nasty-month.ts';
import { exec } from '../support/cold-tier.ts';
import { temporalEnv, uniqueId, warp10OrSkip, type Warp10Stack } from '../support/stack.ts';

const MONTH = '2026-05';
const { S, E } = utcMonth(MONTH);
const H = 3_600_000_000;
const FETCH_ALL = path.join(EXTENSION_DIR, 'macros', 'offloader', 'fetch-all.mc2');

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

interface GtsJson {
  c: string;
  l: Record<string, string>;
  a: Record<string, string>;
  v: unknown[][];
}

/** The series of a FETCH-like call, each one's points by tick, sorted by class and labels. */
async function series(w: Warp10Stack, prefix: string, call: string): Promise<GtsJson[] | string> {
  const r = await exec(w.url, `${prefix} ${call} <% SORT %> F LMAP`);
  if (r.error !== undefined) return r.error;
  const key = (g: GtsJson) => `${g.c} ${JSON.stringify(Object.entries(g.l).sort())}`;
  return (r.stack![0] as GtsJson[]).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

describe('ARCHIVE.FETCH (real Warp 10 with the extension, real Temporal)', () => {
  test('an archived month read in place equals what FETCH returned before the archive; limits, scoping and damage as FETCH would', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    if (process.env.WARP10_MANAGED === 'external') {
      t.skip('ARCHIVE.FETCH is loaded into the stack Warp 10 only (WARP10_URL names another one)');
      return;
    }
    const cls = uniqueId('test.afetch').replace(/-/g, '.');
    const dataset = cls.replace(/[^a-z0-9]/g, '');
    const config = testConfig({
      groups: [
        { name: 'afetch', datasets: [{ name: dataset, selector: { class: cls }, seriesPerBatch: 5 }] },
      ],
      store: { type: 'local', path: LOCAL_ARCHIVE },
    });
    const rt = buildRuntime(config);
    const T = `'${w.readToken}'`;
    const params = (sel: string, start: number | string, end: number | string) =>
      `{ 'token' ${T} 'selector' '${sel}' 'start' ${typeof start === 'number' ? start : `'${start}'`} 'end' ${typeof end === 'number' ? end : `'${end}'`} }`;
    const queries = {
      'the whole month': params(`${enc(cls)}{}`, S, E - 1),
      'one series by exact selector': params(`${enc(cls)}{host=geo}`, S, E - 1),
      bool: params(`${enc(cls)}{host=bool}`, S, E - 1),
      dbl: params(`${enc(cls)}{host=dbl}`, S, E - 1),
      'a label regex': params(`${enc(cls)}{host~a|bool|h.*}`, S, E - 1),
      // Warp 10's selectors match attributes too: a series selected by an attribute value alone.
      'an attribute value': params(`${enc(cls)}{tier=gold}`, S, E - 1),
      'a window inside the month (ISO instants)': params(
        `${enc(cls)}{}`,
        new Date((S + 15) / 1000).toISOString(),
        new Date((S + 2 * H) / 1000).toISOString(),
      ),
    };
    try {
      await seedNasty(rt, w, cls, S, E);
      const before: Record<string, GtsJson[]> = {};
      for (const [name, q] of Object.entries(queries)) {
        const r = await series(w, '', `${q} FETCH`);
        assert.ok(typeof r !== 'string', `${name}: ${String(r)}`);
        before[name] = r;
      }
      assert.equal(before['the whole month']!.length, NASTY_SERIES);
      assert.equal(before['an attribute value']!.length, 1, 'FETCH selects a series by its attribute');
      const ref: MonthRef = { group: 'afetch', dataset, month: MONTH };
      const [archived] = await archiveRuns(env, rt, ref);
      assert.deepEqual([archived?.status, archived?.points], ['archived', NASTY_POINTS]);
      const gone = await exec(w.url, `0 ${queries['the whole month']} FETCH <% SIZE + %> FOREACH`);
      assert.deepEqual(gone.stack, [0], 'FETCH finds nothing of the month now');

      for (const [name, q] of Object.entries(queries)) {
        assert.deepEqual(await series(w, `${T} CAPADD`, `${q} ARCHIVE.FETCH`), before[name], name);
      }

      // Hot and cold merged for one window (the documented macro): an archived tick rewritten in Warp 10
      // keeps the hot value, a point after the month comes from Warp 10.
      await rt.client.update(
        rt.tokens.write,
        `${S + 20}// ${enc(cls)}{host=bool} F\n${E + 5}// ${enc(cls)}{host=bool} T`,
      );
      const merged = await series(
        w,
        `${T} CAPADD ${readFileSync(FETCH_ALL, 'utf8')} 'fetchAll' STORE`,
        `${params(`${enc(cls)}{host=bool}`, S, E + 10)} @fetchAll`,
      );
      assert.ok(typeof merged !== 'string', String(merged));
      assert.deepEqual(
        merged.map((g) => g.v.map((p) => [p[0], p.at(-1)])),
        [
          [
            [S + 20, false],
            [S + 21, false],
            [E + 5, true],
          ],
        ],
      );

      // Without the capability; another owner's token; a selector matching nothing; over fetch.limit.
      const noCap = await exec(w.url, `${queries['the whole month']} ARCHIVE.FETCH`);
      assert.match(noCap.error ?? '', /ARCHIVE\.FETCH needs the 'archive\.fetch' capability/);
      const foreign = `'${foreignReadToken(w.readToken)}'`;
      const other = await exec(
        w.url,
        `${foreign} CAPADD ${queries['the whole month'].replace(T, foreign)} ARCHIVE.FETCH SIZE`,
      );
      assert.deepEqual(other.stack, [0], 'another owner sees none of it, as with FETCH');
      const none = await exec(
        w.url,
        `${T} CAPADD ${params(`${enc(cls)}{host=nobody}`, S, E - 1)} ARCHIVE.FETCH SIZE`,
      );
      assert.deepEqual(none.stack, [0]);
      const limited = await exec(w.url, `${T} CAPADD 5 LIMIT ${queries['the whole month']} ARCHIVE.FETCH`);
      assert.match(limited.error ?? '', /ARCHIVE\.FETCH exceeded limit of 5 datapoints/);

      // A damaged member: its series fail with the member named; series held elsewhere still read.
      const m = JSON.parse(
        gunzipSync(readFileSync(path.join(LOCAL_ARCHIVE, ...batchManifestKey(ref, 1).split('/')))).toString(),
      ) as { object: { members: { offset: number }[] }; series: { selector: string; points: number }[] };
      const file = path.join(LOCAL_ARCHIVE, ...batchObjectKey(ref, 1).split('/'));
      const bytes = readFileSync(file);
      bytes[m.object.members[0]!.offset + 20]! ^= 0xff;
      writeFileSync(file, bytes);
      const damaged = await exec(w.url, `${T} CAPADD ${queries['the whole month']} ARCHIVE.FETCH`);
      assert.match(damaged.error ?? '', /member at byte 0 does not match its SHA-256 in the index/);
      assert.doesNotMatch(damaged.error ?? '', /[0-9a-f]{64}/, 'no hash of what was read');
      const inBatch1 = m.series.filter((x) => x.points > 0).map((x) => x.selector);
      const elsewhere = (['one series by exact selector', 'bool', 'dbl'] as const).find(
        (n) =>
          !inBatch1.some((x) =>
            x.endsWith(`{.app=offloader,host=${n === 'one series by exact selector' ? 'geo' : n}}`),
          ),
      )!;
      assert.deepEqual(
        await series(w, `${T} CAPADD`, `${queries[elsewhere]} ARCHIVE.FETCH`),
        before[elsewhere],
        `${elsewhere}, in another batch, still reads`,
      );
      // The member mended, a missing object: named.
      bytes[m.object.members[0]!.offset + 20]! ^= 0xff;
      writeFileSync(file, bytes);
      rmSync(path.join(LOCAL_ARCHIVE, ...batchObjectKey(ref, 2).split('/')));
      const missing = await exec(w.url, `${T} CAPADD ${queries['the whole month']} ARCHIVE.FETCH`);
      assert.match(missing.error ?? '', /batch-00002\.wrap\.gz is missing/);
    } finally {
      await rt.close();
    }
  });
});
