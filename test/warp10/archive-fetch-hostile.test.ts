// ARCHIVE.FETCH against a store someone else wrote (issue 32's attacker holds the capability and can
// write to the store): a real Warp 10 with the extension over a local store, a month archived into it by
// the real archive workflow, then its manifests and objects tampered with. Every case fails with an error
// that names the object relative to the archive and nothing of the host, reads nothing it should not,
// and leaves Warp 10 serving.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  batchManifestKey,
  batchObjectKey,
  monthManifestKey,
  type MonthRef,
} from '../../src/archive/layout.ts';
import { freePort } from '../../src/metrics/server.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { nofetchReadToken, startStandalone } from '../../scripts/stack/warp10.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { tempDir, testConfig } from '../support/config.ts';
import { utcMonth } from '../support/month.ts';
import { NASTY_POINTS, NASTY_SERIES, enc, seedNasty } from '../support/nasty-month.ts';
import { temporalEnv, uniqueId, warp10OrSkip } from '../support/stack.ts';

const MONTH = '2026-03';
const { S, E } = utcMonth(MONTH);
const MAX_READ = 1 << 20;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

async function exec(url: string, script: string): Promise<{ stack?: unknown[]; error?: string }> {
  const res = await fetch(`${url}/api/v0/exec`, { method: 'POST', body: script });
  const text = await res.text();
  if (!res.ok) return { error: res.headers.get('x-warp10-error-message') ?? text.slice(0, 500) };
  return { stack: JSON.parse(text) as unknown[] };
}

interface IndexRef {
  key: string;
  bytes: number;
  sha256: string;
  footer: { offset: number; bytes: number; sha256: string };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Rewrites a month's index object (docs/ARCHIVE-LAYOUT.md) with `mutate` applied to its first block's part
 * table and lines, with consistent hashes in its footer and manifest.json: only what a writer to the store
 * could do, checked by nothing but the extension's own limits.
 */
function rewriteIndex(
  monthFile: string,
  indexFile: string,
  body: Buffer,
  monthText: string,
  mutate: (table: unknown[][], lines: string[][]) => void,
): void {
  const month = JSON.parse(monthText) as { index: IndexRef };
  const fo = month.index.footer;
  const footer = JSON.parse(gunzipSync(body.subarray(fo.offset, fo.offset + fo.bytes)).toString()) as {
    blocks: { offset: number; bytes: number; sha256: string }[];
  };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [i, b] of footer.blocks.entries()) {
    let raw = body.subarray(b.offset, b.offset + b.bytes);
    if (i === 0) {
      const [table, ...lines] = gunzipSync(raw).toString().trimEnd().split('\n');
      const t = JSON.parse(table!) as unknown[][];
      const l = lines.map((x) => x.split('\t'));
      mutate(t, l);
      raw = gzipSync(`${JSON.stringify(t)}\n${l.map((x) => x.join('\t')).join('\n')}\n`);
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

describe('ARCHIVE.FETCH over a hostile store (real Warp 10, real Temporal)', () => {
  test('tampered keys, lengths, counts and links: refused before any read or allocation, errors name nothing of the host; a .nofetch token is refused as FETCH refuses it', async (t) => {
    if (!warp10OrSkip(t)) return;
    const store = tempDir('hostile-store');
    const outside = tempDir('hostile-outside');
    const port = await freePort();
    const w = await startStandalone({
      name: `warp10-hostile-${port}`,
      dataDir: tempDir('hostile-warp10'),
      port,
      archiveStore: { 'archive.fetch.dir': store, 'archive.fetch.max.read.bytes': String(MAX_READ) },
    });
    process.env.HOSTILE_READ = w.readToken;
    process.env.HOSTILE_WRITE = w.writeToken;
    const cls = uniqueId('test.hostile').replace(/-/g, '.');
    const dataset = cls.replace(/[^a-z0-9]/g, '');
    const rt = buildRuntime(
      testConfig({
        warp10Url: w.url,
        tokenEnv: { read: 'HOSTILE_READ', write: 'HOSTILE_WRITE' },
        groups: [
          { name: 'hostile', datasets: [{ name: dataset, selector: { class: cls }, seriesPerBatch: 5 }] },
        ],
        store: { type: 'local', path: store },
      }),
    );
    const T = `'${w.readToken}'`;
    const month = `{ 'token' ${T} 'selector' '${enc(cls)}{}' 'start' ${S} 'end' ${E - 1} }`;
    const archiveFetch = (prefix = '') => exec(w.url, `${T} CAPADD ${prefix} ${month} ARCHIVE.FETCH`);
    const ref: MonthRef = { group: 'hostile', dataset, month: MONTH };
    const manifestFile = path.join(store, ...batchManifestKey(ref, 1).split('/'));
    const objectFile = path.join(store, ...batchObjectKey(ref, 1).split('/'));
    const noHost = (error: string | undefined, what: string) => {
      assert.ok(error, `${what}: an error`);
      for (const host of [store, outside, path.dirname(store), '/etc/', 'root:']) {
        assert.ok(!error.includes(host), `${what}: no "${host}" in ${error}`);
      }
      assert.doesNotMatch(error, /[0-9a-f]{64}/, `${what}: no hash of what was read`);
    };
    try {
      await seedNasty(rt, w, cls, S, E);
      const [archived] = await archiveRuns(env, rt, ref);
      assert.deepEqual([archived?.status, archived?.points], ['archived', NASTY_POINTS]);
      const good = await archiveFetch('<% SIZE %> F LMAP 0 SWAP <% + %> FOREACH');
      const read = await exec(w.url, `${T} CAPADD ${month} ARCHIVE.FETCH SIZE`);
      assert.deepEqual(read.stack, [NASTY_SERIES], String(read.error ?? good.error));

      // The month's index object first (what a month committed now is read by), then, the index taken
      // out of manifest.json, its batch manifests (what a month committed before it is read by).
      const monthFile = path.join(store, ...monthManifestKey(ref).split('/'));
      const monthOriginal = readFileSync(monthFile, 'utf8');
      const ix = (JSON.parse(monthOriginal) as { index: IndexRef }).index;
      const indexFile = path.join(store, ...ix.key.split('/'));
      const indexOriginal = readFileSync(indexFile);
      const tamperIndex = (f: (table: unknown[][], lines: string[][]) => void) =>
        rewriteIndex(monthFile, indexFile, indexOriginal, monthOriginal, f);

      for (const name of [
        '/etc/passwd',
        '../../../../etc/passwd',
        'manifest.json',
        `../../${dataset}/${MONTH}/batch-00001.wrap.gz`,
      ]) {
        tamperIndex((table) => {
          table[0]![0] = name;
        });
        const r = await archiveFetch();
        assert.match(r.error ?? '', /block 0 names an object which is not one of the month's objects/, name);
        noHost(r.error, name);
      }
      tamperIndex((table) => {
        table[0]![2] = 2_000_000_000;
      });
      const hugeInIndex = await archiveFetch();
      assert.match(
        hugeInIndex.error ?? '',
        new RegExp(`over the limit of ${MAX_READ} \\(archive\\.fetch\\.max\\.read\\.bytes\\)`),
      );
      tamperIndex((_, lines) => {
        for (const l of lines) l[4] = l[4]!.replace(/:(\d+):/g, ':1:');
      });
      const liedInIndex = await archiveFetch(`${NASTY_POINTS - 1} LIMIT`);
      assert.match(
        liedInIndex.error ?? '',
        new RegExp(`ARCHIVE\\.FETCH exceeded limit of ${NASTY_POINTS - 1} datapoints`),
      );
      writeFileSync(
        monthFile,
        monthOriginal.replace(ix.key, `hostile/other/${MONTH}/index-0123456789abcdef.idx`),
      );
      const otherIndex = await archiveFetch();
      assert.match(otherIndex.error ?? '', /names an index object which is not one of the month's/);
      writeFileSync(indexFile, indexOriginal);
      writeFileSync(monthFile, monthOriginal);
      const indexed = await exec(w.url, `${T} CAPADD ${month} ARCHIVE.FETCH SIZE`);
      assert.deepEqual(indexed.stack, [NASTY_SERIES], indexed.error);

      const { index: _, ...withoutIndex } = JSON.parse(monthOriginal) as Record<string, unknown>;
      writeFileSync(monthFile, JSON.stringify(withoutIndex));
      const original = readFileSync(manifestFile);
      const bm = JSON.parse(gunzipSync(original).toString()) as BatchManifest;
      const tamper = (f: (m: BatchManifest) => void) => {
        const copy = structuredClone(bm);
        f(copy);
        writeFileSync(manifestFile, gzipSync(JSON.stringify(copy)));
      };

      // 1. Keys that leave the month: an absolute path, a climb out of the store, another month's object.
      writeFileSync(path.join(outside, 'secret.conf'), 'warp.aes.token = hex:0011');
      for (const key of [
        '/etc/passwd',
        path.join(outside, 'secret.conf'),
        `${'../'.repeat(12)}etc/passwd`,
        `hostile/${dataset}/${MONTH}/../../../../${path.relative('/', outside)}/secret.conf`,
        `hostile/${dataset}/${MONTH}/manifest.json`,
      ]) {
        tamper((m) => {
          m.object.key = key;
        });
        const r = await archiveFetch();
        assert.match(
          r.error ?? '',
          /a batch manifest names an object key which is not one of the month's objects/,
          key,
        );
        noHost(r.error, key);
      }

      // 2. The month's own key, but a link out of the store (same bytes, so its SHA-256 would pass).
      writeFileSync(manifestFile, original);
      const objectBytes = readFileSync(objectFile);
      writeFileSync(path.join(outside, 'copy.wrap.gz'), objectBytes);
      rmSync(objectFile);
      symlinkSync(path.join(outside, 'copy.wrap.gz'), objectFile);
      const linked = await archiveFetch();
      assert.match(linked.error ?? '', /batch-00001\.wrap\.gz leads outside the archive store/);
      noHost(linked.error, 'a link out');
      rmSync(objectFile);
      writeFileSync(objectFile, objectBytes);

      // 3. A member of 2 GB: refused while the index is read, before any allocation; Warp 10 still serves.
      tamper((m) => {
        m.object.members[0]!.bytes = 2_000_000_000;
      });
      const huge = await archiveFetch();
      assert.match(
        huge.error ?? '',
        new RegExp(`over the limit of ${MAX_READ} \\(archive\\.fetch\\.max\\.read\\.bytes\\)`),
      );
      noHost(huge.error, 'a huge member');
      // A member longer than its object (under the cap): the file's length is checked first.
      tamper((m) => {
        m.object.members[0]!.bytes = objectBytes.length + 1000;
      });
      const long = await archiveFetch();
      assert.match(long.error ?? '', /batch-00001\.wrap\.gz is \d+ bytes, its index names bytes up to \d+/);

      // 4. Counts that lie: fetch.limit holds on what is decoded, not on what the index claims.
      tamper((m) => {
        for (const s of m.series) if (s.points > 0) s.points = 1;
      });
      const lied = await archiveFetch(`${NASTY_POINTS - 1} LIMIT`);
      assert.match(
        lied.error ?? '',
        new RegExp(`ARCHIVE\\.FETCH exceeded limit of ${NASTY_POINTS - 1} datapoints`),
      );

      // Mended, it reads again: nothing was cached from the tampered manifests.
      writeFileSync(manifestFile, original);
      writeFileSync(monthFile, monthOriginal);
      const mended = await exec(w.url, `${T} CAPADD ${month} ARCHIVE.FETCH SIZE`);
      assert.deepEqual(mended.stack, [NASTY_SERIES], mended.error);

      // 5. A .nofetch token (metadata only): FETCH refuses it, and so does ARCHIVE.FETCH.
      const N = `'${nofetchReadToken(w.readToken)}'`;
      const nofetchFind = await exec(w.url, `{ 'token' ${N} 'selector' '${enc(cls)}{}' } FIND SIZE`);
      assert.deepEqual(nofetchFind.stack, [NASTY_SERIES], 'the token may FIND');
      const nofetchFetch = await exec(w.url, `${month.replace(T, N)} FETCH`);
      assert.match(nofetchFetch.error ?? '', /FETCH given an invalid read token/);
      const nofetch = await exec(w.url, `${N} CAPADD ${month.replace(T, N)} ARCHIVE.FETCH`);
      assert.match(nofetch.error ?? '', /ARCHIVE\.FETCH given an invalid read token/);
    } finally {
      await rt.close();
      await w.stop();
    }
  });
});
