// The hot directory keeps live series only (issue 35): after a month is committed, the series it left with
// no point at all lose their metadata in Warp 10 (ARCHIVE.PURGE), while their archive stays readable by
// ARCHIVE.FETCH and restorable. Real Temporal, the stack's real Warp 10 with the extension.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { auditMonth } from '../../src/archive/audit.ts';
import { purgeKey, type MonthRef } from '../../src/archive/layout.ts';
import { PurgeRecordSchema } from '../../src/archive/manifest.ts';
import { readJson } from '../../src/activities/store-json.ts';
import { purgeEmptySeries, type PurgeResult } from '../../src/activities/warp10/purge.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { EXTENSION_DIR, LOCAL_ARCHIVE } from '../../scripts/stack/extension.ts';
import { tenantReadToken, tenantWriteToken } from '../../scripts/stack/warp10.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { exec } from '../support/cold-tier.ts';
import { testConfig } from '../support/config.ts';
import { utcMonth } from '../support/month.ts';
import { dumpFull, restoreRuns } from '../support/restore-run.ts';
import { temporalEnv, uniqueId, warp10OrSkip, type Warp10Stack } from '../support/stack.ts';

const MONTH = '2026-03';
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

/** The stack's Warp 10, which loads ARCHIVE.PURGE; undefined (the test skipped, saying why) otherwise. */
function stackWithPurge(t: TestContext): Warp10Stack | undefined {
  const w = warp10OrSkip(t);
  if (w && process.env.WARP10_MANAGED === 'external') {
    t.skip('ARCHIVE.PURGE is loaded into the stack Warp 10 only (WARP10_URL names another one)');
    return undefined;
  }
  return w;
}

/** A dataset of class `cls` in the stack's archive store (the one its ARCHIVE.FETCH reads). */
function runtime(cls: string, dataset: string, purgeEmptySeries: boolean): Runtime {
  return buildRuntime(
    testConfig({
      groups: [
        {
          name: 'purge',
          datasets: [{ name: dataset, selector: { class: cls }, seriesPerBatch: 2, purgeEmptySeries }],
        },
      ],
      store: { type: 'local', path: LOCAL_ARCHIVE },
    }),
  );
}

/** The `host` label of every series the token FINDs in the class, sorted. */
async function hosts(w: Warp10Stack, cls: string, token = w.readToken): Promise<string[]> {
  const r = await exec(w.url, `[ '${token}' '${cls}' {} ] FIND <% LABELS 'host' GET %> F LMAP LSORT`);
  assert.equal(r.error, undefined, r.error);
  return r.stack![0] as string[];
}

/** Series of a FETCH-like call over [start, end], sorted by host: class, labels, attributes, points. */
async function fetched(w: Warp10Stack, call: string, cls: string, start: number, end: number, prefix = '') {
  const q = `{ 'token' '${w.readToken}' 'selector' '${cls}{}' 'start' ${start} 'end' ${end} }`;
  const r = await exec(w.url, `'${w.readToken}' CAPADD ${prefix} ${q} ${call} <% SORT %> F LMAP`);
  assert.equal(r.error, undefined, r.error);
  return (r.stack![0] as GtsJson[])
    .map((g) => ({ c: g.c, l: g.l, a: g.a, v: g.v.map((p) => [p[0], p.at(-1)]) }))
    .sort((x, y) => (String(x.l.host) < String(y.l.host) ? -1 : 1));
}

const setAttributes = (w: Warp10Stack, cls: string, host: string, attrs: Record<string, string>) =>
  exec(
    w.url,
    `NEWGTS '${cls}' RENAME { 'host' '${host}' } RELABEL '${JSON.stringify(attrs)}' JSON-> SETATTRIBUTES '${w.writeToken}' META`,
  );

describe('purgeEmptySeries: the hot directory keeps live series only (real Warp 10, real Temporal)', () => {
  test('late data: a series the month emptied comes back with a new point after its metadata was purged — a new live series, read with its archived month as one (fetch-all); the purge removed only the emptied series from FIND, ARCHIVE.FETCH still reads them with their attributes, a dry run counts them first, a rerun changes nothing, a restore into the same Warp 10 brings back points, metadata and attributes', async (t) => {
    const w = stackWithPurge(t);
    if (!w) return;
    const cls = uniqueId('test.purge').replace(/-/g, '.');
    const dataset = cls.replace(/[^a-z0-9]/g, '');
    const rt = runtime(cls, dataset, true);
    const ref: MonthRef = { group: 'purge', dataset, month: MONTH };
    try {
      const lines: string[] = [];
      for (let i = 0; i < 5; i++) lines.push(`${S + i * H}// ${cls}{host=gone1} ${i}`);
      for (let i = 0; i < 3; i++) lines.push(`${S + i * H}// ${cls}{host=gone2} ${10 + i}`);
      lines.push(`${S + H}// ${cls}{host=live} 1`, `${E + H}// ${cls}{host=live} 2`);
      lines.push(`${S - H}// ${cls}{host=early} 1`, `${S + 2 * H}// ${cls}{host=early} 2`);
      lines.push(`${E + 2 * H}// ${cls}{host=other} 1`);
      await rt.client.update(rt.tokens.write, lines.join('\n'));
      assert.equal((await setAttributes(w, cls, 'gone1', { role: 'db' })).error, undefined);
      const month = await fetched(w, 'FETCH', cls, S, E - 1);
      const dump = await dumpFull(w, cls, S, E - 1);

      const [dry] = await archiveRuns(env, rt, { ...ref, dryRun: true });
      assert.equal(dry?.status, 'dry-run');
      assert.equal(dry?.wouldPurge, 2, 'gone1 and gone2 hold no point outside the month');
      assert.deepEqual(
        await hosts(w, cls),
        ['early', 'gone1', 'gone2', 'live', 'other'],
        'a dry run changes nothing',
      );

      const [run] = await archiveRuns(env, rt, ref);
      assert.equal(run?.status, 'archived');
      assert.deepEqual(run?.purge, {
        purged: 2,
        live: 2,
        revived: 0,
        attributesChanged: 0,
        ambiguous: 0,
        outOfReach: 0,
        inProgress: 0,
        revivedLater: 0,
      });
      assert.deepEqual(
        await hosts(w, cls),
        ['early', 'live', 'other'],
        'the emptied series left the directory',
      );
      assert.deepEqual(
        await fetched(w, 'ARCHIVE.FETCH', cls, S, E - 1),
        month,
        'ARCHIVE.FETCH reads the whole month, the purged series and their attributes included',
      );
      const record = await readJson(rt.store, purgeKey(ref), PurgeRecordSchema);
      assert.deepEqual(record?.purged.map(([s]) => /host=(\w+)/.exec(s)?.[1]).sort(), ['gone1', 'gone2']);
      const audit = await auditMonth(rt.store, ref);
      assert.deepEqual(audit.problems, [], 'verify-archive finds purge.json part of the month');

      const [again] = await archiveRuns(env, rt, ref);
      assert.equal(again?.status, 'skipped');
      assert.equal(again?.purge?.purged, 2, 'the rerun reports the recorded purge and purges nothing more');
      assert.deepEqual(await hosts(w, cls), ['early', 'live', 'other']);

      // gone1 comes back: a new live series; hot and cold read as one, as FETCH would have.
      await rt.client.update(rt.tokens.write, `${E + 3 * H}// ${cls}{host=gone1} 99`);
      assert.deepEqual(await hosts(w, cls), ['early', 'gone1', 'live', 'other']);
      const merged = await fetched(
        w,
        '@fetchAll',
        cls,
        S,
        E + 4 * H,
        `${readFileSync(FETCH_ALL, 'utf8')} 'fetchAll' STORE`,
      );
      assert.deepEqual(merged.find((g) => g.l.host === 'gone1')?.v, [
        ...Array.from({ length: 5 }, (_, i) => [S + i * H, i]),
        [E + 3 * H, 99],
      ]);

      // Restore into the same Warp 10: the month's points, its series' metadata and attributes.
      const [restored] = await restoreRuns(env, rt, [ref]);
      assert.equal(restored?.status, 'fulfilled', String((restored as PromiseRejectedResult).reason));
      assert.deepEqual(await hosts(w, cls), ['early', 'gone1', 'gone2', 'live', 'other']);
      assert.deepEqual(
        await dumpFull(w, cls, S, E - 1),
        dump,
        'the month is back as it was, attributes included',
      );
    } finally {
      await rt.close();
    }
  });

  test('late data: a point written between the purge’s emptiness check and its metadata delete — the series is registered again with its attributes, the point readable, 0 lost; a series whose attributes changed since the export, and another owner’s empty series of the same name, keep their metadata', async (t) => {
    const w = stackWithPurge(t);
    if (!w) return;
    const cls = uniqueId('test.purgerace').replace(/-/g, '.');
    const dataset = cls.replace(/[^a-z0-9]/g, '');
    // Archived without purging, then purged by hand with a window wide enough to write into.
    const rt = runtime(cls, dataset, false);
    const on = runtime(cls, dataset, true);
    const ref: MonthRef = { group: 'purge', dataset, month: MONTH };
    try {
      const lines: string[] = [];
      for (const host of ['race', 'changed', 'plain']) {
        for (let i = 0; i < 3; i++) lines.push(`${S + i * H}// ${cls}{host=${host}} ${i}`);
      }
      await rt.client.update(rt.tokens.write, lines.join('\n'));
      await setAttributes(w, cls, 'race', { role: 'r' });
      await setAttributes(w, cls, 'changed', { role: 'c' });
      // Another owner of the same application: a series of the same name, emptied by its own delete.
      const tenantWrite = tenantWriteToken(w.readToken);
      await rt.client.update(tenantWrite, `${E + H}// ${cls}{host=plain} 7`);
      const del = await exec(w.url, `'${tenantWrite}' '${cls}{host=plain}' ${E} ${E + 2 * H} 1 DELETE`);
      assert.equal(del.error, undefined, del.error);
      assert.deepEqual(await hosts(w, cls, tenantReadToken(w.readToken)), ['plain']);

      const [run] = await archiveRuns(env, rt, ref);
      assert.equal(run?.status, 'archived');
      assert.equal(run?.purge, undefined, 'a dataset without purgeEmptySeries purges nothing');
      assert.deepEqual(await hosts(w, cls), ['changed', 'plain', 'race']);
      await setAttributes(w, cls, 'changed', { role: 'changed-after-export' });

      const deps = { config: on.config, store: on.store, runner: on.runner, tokens: on.tokens };
      const purge = new MockActivityEnvironment().run(() =>
        purgeEmptySeries(deps, ref, { pauseMs: 3_000, graceMs: 500 }),
      ) as Promise<PurgeResult>;
      // Inside the pause: after the check found `race` empty, before its unregister.
      await new Promise((r) => setTimeout(r, 1_500));
      await rt.client.update(rt.tokens.write, `${E + H}// ${cls}{host=race} 42`);
      const result = await purge;
      assert.deepEqual(
        [result.purged, result.revived, result.attributesChanged, result.live],
        [1, 1, 1, 0],
        JSON.stringify(result),
      );
      assert.deepEqual(await hosts(w, cls), ['changed', 'race'], 'plain left; race came back; changed kept');
      const raceNow = await fetched(w, 'FETCH', cls, S, E + 2 * H);
      assert.deepEqual(
        raceNow.find((g) => g.l.host === 'race'),
        { c: cls, l: { '.app': 'offloader', host: 'race' }, a: { role: 'r' }, v: [[E + H, 42]] },
        'the point written in the window is there, and the series has its attributes back',
      );
      assert.deepEqual(
        await hosts(w, cls, tenantReadToken(w.readToken)),
        ['plain'],
        'the other owner’s empty series of the same name is untouched',
      );
      const record = await readJson(on.store, purgeKey(ref), PurgeRecordSchema);
      assert.deepEqual(
        [record?.purged.length, record?.revived.length, record?.attributesChanged.length],
        [1, 1, 1],
      );
    } finally {
      await rt.close();
      await on.close();
    }
  });
  test('late data: an update that registered a series before the purge removed it stores its point after the grace — the point is kept, hidden until the dataset’s next purge, which registers the series again with its attributes; 0 lost', async (t) => {
    const w = stackWithPurge(t);
    if (!w) return;
    const cls = uniqueId('test.purgeslow').replace(/-/g, '.');
    const dataset = cls.replace(/[^a-z0-9]/g, '');
    const rt = runtime(cls, dataset, false);
    const on = runtime(cls, dataset, true);
    const ref: MonthRef = { group: 'purge', dataset, month: MONTH };
    const next: MonthRef = { ...ref, month: '2026-04' };
    try {
      const lines: string[] = [];
      for (const host of ['slow', 'other']) {
        for (let i = 0; i < 3; i++) lines.push(`${S + i * H}// ${cls}{host=${host}} ${i}`);
      }
      await rt.client.update(rt.tokens.write, lines.join('\n'));
      await setAttributes(w, cls, 'slow', { role: 's' });
      const [run] = await archiveRuns(env, rt, ref);
      assert.equal(run?.status, 'archived');

      // One update request: its first line registers `slow` (known: nothing changes), its point is stored
      // only when the next series starts, after the purge and its grace.
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      async function* body() {
        yield `${E + 2 * H}// ${cls}{host=slow} 5\n`;
        await released;
        yield `${E + 3 * H}// ${cls}{host=other} 6\n`;
      }
      const slowUpdate = rt.client.update(rt.tokens.write, body());
      await new Promise((r) => setTimeout(r, 500));
      const deps = { config: on.config, store: on.store, runner: on.runner, tokens: on.tokens };
      const first = (await new MockActivityEnvironment().run(() =>
        purgeEmptySeries(deps, ref, { graceMs: 500 }),
      )) as PurgeResult;
      assert.deepEqual([first.purged, first.revived], [2, 0], JSON.stringify(first));
      release();
      await slowUpdate;
      assert.deepEqual(await hosts(w, cls), ['other'], '`slow` holds its point, without metadata: hidden');

      // The next month of the dataset, archived, then purged: the previous purge is looked at again.
      const [april] = await archiveRuns(env, rt, next);
      assert.equal(april?.status, 'archived');
      const second = (await new MockActivityEnvironment().run(() =>
        purgeEmptySeries(deps, next, { graceMs: 500 }),
      )) as PurgeResult;
      assert.equal(second.revivedLater, 1, JSON.stringify(second));
      assert.deepEqual(await hosts(w, cls), ['slow'], '`other` purged after April; `slow` back');
      const slow = (await fetched(w, 'FETCH', cls, S, E + 4 * H)).find((g) => g.l.host === 'slow');
      assert.deepEqual(slow, {
        c: cls,
        l: { '.app': 'offloader', host: 'slow' },
        a: { role: 's' },
        v: [[E + 2 * H, 5]],
      });
      const record = await readJson(on.store, purgeKey(ref), PurgeRecordSchema);
      assert.ok(record?.rechecked, 'the March purge is marked rechecked');
      assert.deepEqual(
        record?.revivedLater?.map((x) => /host=(\w+)/.exec(x)?.[1]),
        ['slow'],
      );
    } finally {
      await rt.close();
      await on.close();
    }
  });
  test('the purge takes only the series the month archived: one named alike whose owner or producer differs from those the month index recorded keeps its metadata', async (t) => {
    const w = stackWithPurge(t);
    if (!w) return;
    const cls = uniqueId('test.purgeowner').replace(/-/g, '.');
    const R = `'${w.readToken}'`;
    const rt = runtime(cls, cls.replace(/[^a-z0-9]/g, ''), true);
    try {
      await rt.client.update(rt.tokens.write, `${S}// ${cls}{host=x} 1`);
      const del = await exec(w.url, `'${w.writeToken}' '${cls}{host=x}' ${S} ${S} 1 DELETE`);
      assert.equal(del.error, undefined, del.error);
      const owners = await exec(
        w.url,
        `${R} CAPADD { 'token' ${R} 'class' '${cls}' 'labels' {} } ARCHIVE.OWNERS`,
      );
      const [pair] = (owners.stack![0] as { pairs: [string, string][] }).pairs;
      const purge = (who: [string, string]) =>
        exec(
          w.url,
          `${R} CAPADD { 'readToken' ${R} 'writeToken' '${w.writeToken}' 'class' '${cls}' 'labels' {} ` +
            `'series' [ [ '${cls}{.app=offloader,host=x}' {} [ [ '${who[0]}' '${who[1]}' ] ] ] ] 'dryrun' false } ARCHIVE.PURGE`,
        );
      const other = await purge([pair![0], 'another-producer']);
      assert.equal(other.error, undefined, other.error);
      assert.deepEqual(
        [
          (other.stack![0] as { purged: unknown[] }).purged.length,
          (other.stack![0] as { missing: number }).missing,
        ],
        [0, 1],
      );
      assert.deepEqual(await hosts(w, cls), ['x'], 'not the archived one: kept');
      const same = await purge(pair!);
      assert.equal((same.stack![0] as { purged: unknown[] }).purged.length, 1);
      assert.deepEqual(await hosts(w, cls), [], 'the archived one, empty: purged');
    } finally {
      await rt.close();
    }
  });
});
