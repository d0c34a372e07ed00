// ARCHIVE.FETCH against a store someone else wrote (issue 32's attacker holds the capability and can
// write to the store): a real Warp 10 with the extension over a local store, a month archived into it by
// the real archive workflow, then its manifests and objects tampered with. Every case fails with an error
// that names the object relative to the archive and nothing of the host, reads nothing it should not,
// and leaves Warp 10 serving.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  batchManifestKey,
  batchObjectKey,
  monthManifestKey,
  type MonthRef,
} from '../../src/archive/layout.ts';
import { publishMonths, readCatalog, readDatasetCatalog } from '../../src/archive/catalog-store.ts';
import { CATALOG_KEY, encodeDatasetCatalog, type CatalogMonth } from '../../src/archive/catalog.ts';
import { LocalStore } from '../../src/store/index.ts';
import type { Runtime } from '../../src/worker/runtime.ts';
import { nofetchReadToken, type StandaloneInstance } from '../../scripts/stack/warp10.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { coldWarp10, exec, type ColdWarp10 } from '../support/cold-tier.ts';
import { tempDir } from '../support/config.ts';
import { utcMonth } from '../support/month.ts';
import { NASTY_POINTS, NASTY_SERIES, enc, seedNasty } from '../support/nasty-month.ts';
import { temporalEnv, warp10OrSkip } from '../support/stack.ts';

const MONTH = '2026-03';
const { S, E } = utcMonth(MONTH);
const MAX_READ = 1 << 20;

interface IndexRef {
  key: string;
  bytes: number;
  sha256: string;
  footer: { offset: number; bytes: number; sha256: string };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Rewrites a month's index object (docs/ARCHIVE-LAYOUT.md) with `mutate` applied to its footer's part
 * table and its first block's lines, with consistent hashes in its footer and manifest.json: only what a writer to the store
 * could do, checked by nothing but the extension's own limits.
 */
function rewriteIndex(
  monthFile: string,
  indexFile: string,
  monthText: string,
  mutate: (table: unknown[][], lines: string[][]) => void,
): void {
  const body = readFileSync(indexFile);
  const month = JSON.parse(monthText) as { index: IndexRef };
  const fo = month.index.footer;
  const footer = JSON.parse(gunzipSync(body.subarray(fo.offset, fo.offset + fo.bytes)).toString()) as {
    parts: unknown[][];
    blocks: { offset: number; bytes: number; sha256: string }[];
  };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [i, b] of footer.blocks.entries()) {
    let raw = body.subarray(b.offset, b.offset + b.bytes);
    if (i === 0) {
      const l = gunzipSync(raw)
        .toString()
        .trimEnd()
        .split('\n')
        .map((x) => x.split('\t'));
      mutate(footer.parts, l);
      raw = gzipSync(`${l.map((x) => x.join('\t')).join('\n')}\n`);
    }
    Object.assign(b, { offset, bytes: raw.length, sha256: sha(raw) });
    chunks.push(raw);
    offset += raw.length;
  }
  const f = gzipSync(JSON.stringify(footer));
  const out = Buffer.concat([...chunks, f]);
  // Under its own content name, as the offloader names a new index (the old one is left as it was).
  const key = month.index.key.replace(/index-[0-9a-f]{16}\.idx$/, `index-${sha(out).slice(0, 16)}.idx`);
  writeFileSync(path.join(path.dirname(indexFile), path.basename(key)), out);
  month.index = {
    ...month.index,
    key,
    bytes: out.length,
    sha256: sha(out),
    footer: { offset, bytes: f.length, sha256: sha(f) },
  };
  writeFileSync(monthFile, JSON.stringify(month));
}

interface BatchManifest {
  object: { key: string; members: { offset: number; bytes: number; sha256: string }[] };
  series: { selector: string; points: number }[];
}

/** One month archived by the real workflow into a local store, read by a Warp 10 of its own. */
interface Ctx {
  cold: ColdWarp10;
  w: StandaloneInstance;
  rt: Runtime;
  store: string;
  outside: string;
  cls: string;
  dataset: string;
  T: string;
  month: string;
  monthFile: string;
  monthOriginal: string;
  ix: IndexRef;
  manifestFile: string;
  manifestOriginal: Buffer;
  objectFile: string;
  ref: MonthRef;
  indexFile: string;
  indexOriginal: Buffer;
}

let env: TestWorkflowEnvironment | undefined;
let ctx: Ctx | undefined;

/**
 * A writer to the store writes the catalog too: each query runs on the catalog published from the month's
 * manifest.json as it is now (docs/ARCHIVE-LAYOUT.md#the-catalog).
 */
async function archiveFetch(c: Ctx, prefix = '') {
  await publishMonths(new LocalStore(c.store), [c.ref]);
  return exec(c.w.url, `${c.T} CAPADD ${prefix} ${c.month} ARCHIVE.FETCH`);
}

function noHost(c: Ctx, error: string | undefined, what: string): void {
  assert.ok(error, `${what}: an error`);
  for (const host of [c.store, c.outside, path.dirname(c.store), '/etc/', 'root:']) {
    assert.ok(!error.includes(host), `${what}: no "${host}" in ${error}`);
  }
  assert.doesNotMatch(error, /[0-9a-f]{64}/, `${what}: no hash of what was read`);
}

/** Runs `f` on the archived month, then puts every file back and checks the month reads whole again. */
async function hostile(t: TestContext, f: (c: Ctx) => Promise<void>): Promise<void> {
  if (!warp10OrSkip(t) || !ctx) return;
  const c = ctx;
  try {
    await f(c);
  } finally {
    writeFileSync(c.monthFile, c.monthOriginal);
    writeFileSync(c.manifestFile, c.manifestOriginal);
    // Publishing a tampered month deleted the index it superseded.
    writeFileSync(c.indexFile, c.indexOriginal);
  }
  await publishMonths(new LocalStore(c.store), [c.ref]);
  const mended = await exec(c.w.url, `${c.T} CAPADD ${c.month} ARCHIVE.FETCH SIZE`);
  assert.deepEqual(mended.stack, [NASTY_SERIES], `mended, the month reads whole: ${mended.error}`);
}

/** The month's manifest.json without its index: read from the batch manifests, as a month committed before. */
function withoutIndex(c: Ctx): void {
  const { index: _, ...rest } = JSON.parse(c.monthOriginal) as Record<string, unknown>;
  writeFileSync(c.monthFile, JSON.stringify(rest));
}

function tamperBatch(c: Ctx, f: (m: BatchManifest) => void): void {
  const copy = JSON.parse(gunzipSync(c.manifestOriginal).toString()) as BatchManifest;
  f(copy);
  writeFileSync(c.manifestFile, gzipSync(JSON.stringify(copy)));
}

function tamperIndex(c: Ctx, f: (table: unknown[][], lines: string[][]) => void): void {
  // The last query's publish deleted the index its tampered one superseded.
  writeFileSync(c.indexFile, c.indexOriginal);
  rewriteIndex(c.monthFile, c.indexFile, c.monthOriginal, f);
}

/** The catalog as a writer to the store could leave it: the month's entry changed by `f`, hashes consistent. */
async function tamperCatalog(c: Ctx, f: (m: CatalogMonth) => void): Promise<void> {
  const store = new LocalStore(c.store);
  await publishMonths(store, [c.ref]);
  const root = (await readCatalog(store))!;
  const entry = root.datasets.find((d) => d.dataset === c.dataset)!;
  const cat = await readDatasetCatalog(store, entry);
  f(cat.months.find((m) => m.month === MONTH)!);
  const stored = encodeDatasetCatalog(cat);
  await store.put(stored.key, stored.body);
  Object.assign(entry, { key: stored.key, bytes: stored.body.length, sha256: stored.sha256 });
  await store.put(CATALOG_KEY, JSON.stringify(root));
}

describe('ARCHIVE.FETCH over a hostile store (real Warp 10, real Temporal)', () => {
  before(async () => {
    if (!process.env.WARP10_URL) return;
    env = await temporalEnv();
    const store = tempDir('hostile-store');
    const outside = tempDir('hostile-outside');
    const cold = await coldWarp10({
      name: 'hostile',
      group: 'hostile',
      archiveStore: { 'archive.fetch.dir': store, 'archive.fetch.max.read.bytes': String(MAX_READ) },
      store: { type: 'local', path: store },
    });
    const { w, rt, cls, dataset } = cold;
    const T = `'${w.readToken}'`;
    const ref: MonthRef = { group: 'hostile', dataset, month: MONTH };
    await seedNasty(rt, w, cls, S, E);
    const [archived] = await archiveRuns(env, rt, ref);
    assert.deepEqual([archived?.status, archived?.points], ['archived', NASTY_POINTS]);
    const monthFile = path.join(store, ...monthManifestKey(ref).split('/'));
    const monthOriginal = readFileSync(monthFile, 'utf8');
    const manifestFile = path.join(store, ...batchManifestKey(ref, 1).split('/'));
    ctx = {
      cold,
      w,
      rt,
      store,
      outside,
      cls,
      dataset,
      T,
      month: `{ 'token' ${T} 'selector' '${enc(cls)}{}' 'start' ${S} 'end' ${E - 1} }`,
      monthFile,
      monthOriginal,
      ix: (JSON.parse(monthOriginal) as { index: IndexRef }).index,
      manifestFile,
      manifestOriginal: readFileSync(manifestFile),
      objectFile: path.join(store, ...batchObjectKey(ref, 1).split('/')),
      ref,
      indexFile: '',
      indexOriginal: Buffer.alloc(0),
    };
    ctx.indexFile = path.join(store, ...ctx.ix.key.split('/'));
    ctx.indexOriginal = readFileSync(ctx.indexFile);
    writeFileSync(path.join(outside, 'secret.conf'), 'warp.aes.token = hex:0011');
    const read = await exec(w.url, `${T} CAPADD ${ctx.month} ARCHIVE.FETCH SIZE`);
    assert.deepEqual(read.stack, [NASTY_SERIES], read.error);
  });
  after(async () => {
    await ctx?.cold.close();
    await env?.teardown();
  });

  test('cold tier: a month index naming an object outside the month (absolute, climbing, manifest.json, another dataset) — refused before any read; the error names no host path and no hash', (t) =>
    hostile(t, async (c) => {
      for (const name of [
        '/etc/passwd',
        '../../../../etc/passwd',
        'manifest.json',
        `../../x/${MONTH}/batch-00001.wrap.gz`,
      ]) {
        tamperIndex(c, (table) => {
          table[0]![0] = name;
        });
        const r = await archiveFetch(c);
        assert.match(r.error ?? '', /footer names an object which is not one of the month's objects/, name);
        noHost(c, r.error, name);
      }
    }));

  test('cold tier: the catalog, or a manifest.json read without one, naming another month’s index — refused, nothing read', (t) =>
    hostile(t, async (c) => {
      const other = `hostile/other/${MONTH}/index-0123456789abcdef.idx`;
      await tamperCatalog(c, (m) => {
        m.index!.key = other;
      });
      const viaCatalog = await exec(c.w.url, `${c.T} CAPADD ${c.month} ARCHIVE.FETCH`);
      assert.match(viaCatalog.error ?? '', /names an index object which is not one of the month's/);
      noHost(c, viaCatalog.error, 'another index, through the catalog');
      // A store written before catalogs: its months' manifest.json, as they say.
      rmSync(path.join(c.store, CATALOG_KEY));
      writeFileSync(c.monthFile, c.monthOriginal.replace(c.ix.key, other));
      const viaManifest = await exec(c.w.url, `${c.T} CAPADD ${c.month} ARCHIVE.FETCH`);
      assert.match(viaManifest.error ?? '', /names an index object which is not one of the month's/);
      noHost(c, viaManifest.error, 'another index, through manifest.json');
      // And the catalog's writer refuses to publish it.
      await assert.rejects(
        () => publishMonths(new LocalStore(c.store), [c.ref]),
        /names an index object outside the month/,
      );
    }));

  test('cold tier: a batch manifest (month without index) naming a file outside the month — refused before any read; no host path or hash in the error', (t) =>
    hostile(t, async (c) => {
      withoutIndex(c);
      for (const key of [
        '/etc/passwd',
        path.join(c.outside, 'secret.conf'),
        `${'../'.repeat(12)}etc/passwd`,
        `hostile/${c.dataset}/${MONTH}/../../../../${path.relative('/', c.outside)}/secret.conf`,
        `hostile/${c.dataset}/${MONTH}/manifest.json`,
      ]) {
        tamperBatch(c, (m) => {
          m.object.key = key;
        });
        const r = await archiveFetch(c);
        assert.match(
          r.error ?? '',
          /a batch manifest names an object key which is not one of the month's objects/,
          key,
        );
        noHost(c, r.error, key);
      }
    }));

  test('cold tier: one of the month’s own objects replaced by a link out of the store (same bytes) — refused, named relative to the archive', (t) =>
    hostile(t, async (c) => {
      const objectBytes = readFileSync(c.objectFile);
      writeFileSync(path.join(c.outside, 'copy.wrap.gz'), objectBytes);
      rmSync(c.objectFile);
      symlinkSync(path.join(c.outside, 'copy.wrap.gz'), c.objectFile);
      try {
        const linked = await archiveFetch(c);
        assert.match(linked.error ?? '', /batch-00001\.wrap\.gz leads outside the archive store/);
        noHost(c, linked.error, 'a link out');
      } finally {
        rmSync(c.objectFile);
        writeFileSync(c.objectFile, objectBytes);
      }
    }));

  test('cold tier: a member of 2 GB named by the index or a batch manifest — refused over archive.fetch.max.read.bytes before anything is allocated; Warp 10 keeps serving', (t) =>
    hostile(t, async (c) => {
      const over = new RegExp(`over the limit of ${MAX_READ} \\(archive\\.fetch\\.max\\.read\\.bytes\\)`);
      tamperIndex(c, (table) => {
        table[0]![2] = 2_000_000_000;
      });
      assert.match((await archiveFetch(c)).error ?? '', over);
      withoutIndex(c);
      tamperBatch(c, (m) => {
        m.object.members[0]!.bytes = 2_000_000_000;
      });
      const huge = await archiveFetch(c);
      assert.match(huge.error ?? '', over);
      noHost(c, huge.error, 'a huge member');
    }));

  test('cold tier: a member longer than its object — the file’s length is checked before a buffer is allocated', (t) =>
    hostile(t, async (c) => {
      withoutIndex(c);
      const size = readFileSync(c.objectFile).length;
      tamperBatch(c, (m) => {
        m.object.members[0]!.bytes = size + 1000;
      });
      const long = await archiveFetch(c);
      assert.match(long.error ?? '', /batch-00001\.wrap\.gz is \d+ bytes, its index names bytes up to \d+/);
    }));

  test('cold tier: point counts that lie (index or batch manifest) under LIMIT — fetch.limit holds on the points decoded', (t) =>
    hostile(t, async (c) => {
      const limited = new RegExp(`ARCHIVE\\.FETCH exceeded limit of ${NASTY_POINTS - 1} datapoints`);
      tamperIndex(c, (_, lines) => {
        // Each part's points (p:points:first:last[:line]) said to be 1.
        for (const l of lines)
          l[4] = l[4]!
            .split(',')
            .map((r) =>
              r
                .split(':')
                .map((f, i) => (i === 1 ? '1' : f))
                .join(':'),
            )
            .join(',');
      });
      assert.match((await archiveFetch(c, `${NASTY_POINTS - 1} LIMIT`)).error ?? '', limited);
      withoutIndex(c);
      tamperBatch(c, (m) => {
        for (const s of m.series) if (s.points > 0) s.points = 1;
      });
      assert.match((await archiveFetch(c, `${NASTY_POINTS - 1} LIMIT`)).error ?? '', limited);
    }));

  test('cold tier: an index whose line numbers lie (every series at line 0, or past its member) — each series still reads as archived, its member read line by line', (t) =>
    hostile(t, async (c) => {
      const all = `${c.T} CAPADD ${c.month} ARCHIVE.FETCH <% SORT WRAP %> F LMAP LSORT`;
      const truth = await exec(c.w.url, all);
      assert.equal(truth.error, undefined);
      assert.equal((truth.stack![0] as string[]).length, NASTY_SERIES);
      for (const line of ['0', '999999']) {
        let lied = 0;
        tamperIndex(c, (_, lines) => {
          for (const l of lines)
            l[4] = l[4]!
              .split(',')
              .map((r) => {
                const f = r.split(':');
                if (f.length === 5) {
                  f[4] = line;
                  lied++;
                }
                return f.join(':');
              })
              .join(',');
        });
        assert.ok(lied > NASTY_SERIES / 2, `${lied} parts had a line to lie about`);
        await publishMonths(new LocalStore(c.store), [c.ref]);
        const r = await exec(c.w.url, all);
        assert.deepEqual(r.stack, truth.stack, `every line said to be ${line}: ${r.error}`);
      }
    }));

  test('cold tier: an index placing a series in a member that does not hold it — refused with the member named, not read as a series without points', (t) =>
    hostile(t, async (c) => {
      let moved = '';
      tamperIndex(c, (table, lines) => {
        assert.ok(table.length >= 2, 'the block uses two members or more');
        const l = lines[0]!;
        moved = l[0]!;
        // Its first part becomes another member of the block's table (its line number kept: the picked
        // line is not its series, then the member read line by line does not hold it either).
        l[4] = l[4]!
          .split(',')
          .map((r, i) => {
            if (i > 0) return r;
            const f = r.split(':');
            f[0] = String((Number(f[0]) + 1) % table.length);
            return f.join(':');
          })
          .join(',');
      });
      await publishMonths(new LocalStore(c.store), [c.ref]);
      const one = `{ 'token' ${c.T} 'selector' '${moved.replace(/'/g, '%27')}' 'start' ${S} 'end' ${E - 1} }`;
      const r = await exec(c.w.url, `${c.T} CAPADD ${one} ARCHIVE.FETCH`);
      assert.match(
        r.error ?? '',
        /cannot read the archive: \S+\/batch-\d{5}\.wrap\.gz member at byte \d+ holds no line of a series its index places there/,
      );
      noHost(c, r.error, 'a member without its series');
    }));

  test('cold tier: a .nofetch read token (metadata only) — refused as FETCH refuses it', (t) =>
    hostile(t, async (c) => {
      const N = `'${nofetchReadToken(c.w.readToken)}'`;
      const find = await exec(c.w.url, `{ 'token' ${N} 'selector' '${enc(c.cls)}{}' } FIND SIZE`);
      assert.deepEqual(find.stack, [NASTY_SERIES], 'the token may FIND');
      const fetched = await exec(c.w.url, `${c.month.replace(c.T, N)} FETCH`);
      assert.match(fetched.error ?? '', /FETCH given an invalid read token/);
      const archived = await exec(c.w.url, `${N} CAPADD ${c.month.replace(c.T, N)} ARCHIVE.FETCH`);
      assert.match(archived.error ?? '', /ARCHIVE\.FETCH given an invalid read token/);
    }));
});
