// ARCHIVE.FETCH on a platform of many customers (issue 32): a second owner of the same application writes
// a series with the same class and labels as the first owner's archived one. Each sees exactly what FETCH
// would have shown it — the first its archived points, the second none of them — and the first still sees
// its archive after the series' metadata is removed from the hot Warp 10: series are selected on the
// month's index (class, labels, owner and producer as Warp 10 knew them at commit), not through FIND.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { monthManifestKey, type MonthRef } from '../../src/archive/layout.ts';
import { foreignReadToken, tenantReadToken, tenantWriteToken } from '../../scripts/stack/warp10.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { coldWarp10, exec } from '../support/cold-tier.ts';
import { tempDir } from '../support/config.ts';
import { utcMonth } from '../support/month.ts';
import { temporalEnv, warp10OrSkip } from '../support/stack.ts';

const MONTH = '2026-02';
const { S, E } = utcMonth(MONTH);
const H = 3_600_000_000;

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
  v: unknown[][];
}

describe('ARCHIVE.FETCH for several owners of one application (real Warp 10, real Temporal)', () => {
  test('cold tier: a second owner of the same application writes a series named as the first owner’s archived one, then the first owner’s hot metadata is removed (DELETE deleteall) — the second sees none of the first’s archive by any selector; the first still reads all of it, by exact and regex selectors; no other owner or application sees it', async (t) => {
    if (!warp10OrSkip(t)) return;
    const store = tempDir('tenants-store');
    const { w, rt, cls, dataset, close } = await coldWarp10({
      name: 'tenants',
      group: 'tenants',
      archiveStore: { 'archive.fetch.dir': store },
      store: { type: 'local', path: store },
    });
    const owner = { read: `'${w.readToken}'`, write: w.writeToken };
    const tenant = { read: `'${tenantReadToken(w.readToken)}'`, write: tenantWriteToken(w.readToken) };
    const foreign = `'${foreignReadToken(w.readToken)}'`;
    const q = (token: string, sel = `${cls}{}`) =>
      `{ 'token' ${token} 'selector' '${sel}' 'start' ${S} 'end' ${E - 1} }`;
    const archived = async (token: string, sel?: string) => {
      const r = await exec(w.url, `${token} CAPADD ${q(token, sel)} ARCHIVE.FETCH <% SORT %> F LMAP`);
      assert.equal(r.error, undefined, r.error);
      return (r.stack![0] as GtsJson[])
        .map((g) => ({ c: g.c, l: g.l, v: g.v.map((p) => [p[0], p.at(-1)]) }))
        .sort((a, b) => (JSON.stringify(a.l) < JSON.stringify(b.l) ? -1 : 1));
    };
    try {
      const lines: string[] = [];
      for (let i = 0; i < 10; i++) lines.push(`${S + i * H}// ${cls}{host=h1} ${i}`);
      for (let i = 0; i < 5; i++) lines.push(`${S + i * H}// ${cls}{host=h2} ${100 + i}`);
      await rt.client.update(owner.write, lines.join('\n'));
      const before = await exec(w.url, `${q(owner.read)} FETCH <% SORT %> F LMAP`);
      const ref: MonthRef = { group: 'tenants', dataset, month: MONTH };
      const [run] = await archiveRuns(env, rt, ref);
      assert.deepEqual([run?.status, run?.points], ['archived', 15]);
      const manifest = JSON.parse(
        readFileSync(path.join(store, ...monthManifestKey(ref).split('/')), 'utf8'),
      ) as {
        index: { owners: boolean };
      };
      assert.equal(manifest.index.owners, true, 'the index records owners and producers');

      const expected = [
        {
          c: cls,
          l: { '.app': 'offloader', host: 'h1' },
          v: Array.from({ length: 10 }, (_, i) => [S + i * H, i]),
        },
        {
          c: cls,
          l: { '.app': 'offloader', host: 'h2' },
          v: Array.from({ length: 5 }, (_, i) => [S + i * H, 100 + i]),
        },
      ];
      assert.equal(((before.stack![0] as unknown[]) ?? []).length, 2);
      assert.deepEqual(await archived(owner.read), expected, 'the owner reads its archive');

      // The second owner writes a point to a series of the same class and labels, in the same month.
      await rt.client.update(tenant.write, `${S + 30 * H}// ${cls}{host=h1} 999`);
      const tenantFetch = await exec(w.url, `${q(tenant.read)} FETCH <% SIZE %> F LMAP`);
      assert.deepEqual(tenantFetch.stack, [[1]], 'FETCH gives the second owner its own point only');
      assert.deepEqual(await archived(tenant.read), [], 'and ARCHIVE.FETCH none of the first owner’s');
      assert.deepEqual(await archived(tenant.read, `${cls}{host=h1}`), [], 'not even by exact selector');
      assert.deepEqual(await archived(foreign), [], 'another application sees nothing either');
      assert.deepEqual(await archived(owner.read), expected, 'the owner still sees exactly its archive');

      // The owner's series leave the hot directory (DELETE of all time, metadata included).
      const del = await fetch(
        `${w.url}/api/v0/delete?deleteall=true&selector=${encodeURIComponent(`${cls}{}`)}`,
        { headers: { 'X-Warp10-Token': owner.write } },
      );
      assert.equal(del.status, 200, await del.text());
      const find = await exec(w.url, `{ 'token' ${owner.read} 'selector' '${cls}{}' } FIND SIZE`);
      assert.deepEqual(find.stack, [0], 'FIND no longer knows the owner’s series');
      assert.deepEqual(
        await archived(owner.read),
        expected,
        'ARCHIVE.FETCH still returns them to their owner',
      );
      assert.deepEqual(await archived(owner.read, `${cls}{host~h[12]}`), expected, 'by regex too');
      assert.deepEqual(await archived(owner.read, `${cls}{host=h2}`), [expected[1]], 'and by exact selector');
      assert.deepEqual(await archived(tenant.read), [], 'and to no other owner');
      assert.deepEqual(await archived(foreign), [], 'nor application');
    } finally {
      await close();
    }
  });
});
