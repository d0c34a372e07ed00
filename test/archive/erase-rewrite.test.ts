// An erasure's rewrite of one batch object, on series WRAPped by the real Warp 10 in a real local store:
// the members without an erased series are kept byte for byte, the others lose exactly the erased lines,
// each kept series is where its new entry says, and a manifest that lies or an object that is damaged
// stops the rewrite before anything is built from it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { EraseCorruptError, rewriteObject, selectorKey } from '../../src/archive/erase-rewrite.ts';
import type { BatchManifest, SeriesEntry } from '../../src/archive/manifest.ts';
import { MemberEncoder, seekableGzip } from '../../src/archive/members.ts';
import { parseWrapper } from '../../src/archive/wrap-decode.ts';
import { createStore, type ArchiveStore } from '../../src/store/index.ts';
import { exec } from '../support/cold-tier.ts';
import { tempDir } from '../support/config.ts';
import { uniqueId, warp10OrSkip } from '../support/stack.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const keyOfLine = (l: string) => {
  const w = parseWrapper(l);
  return selectorKey(
    `${encodeURIComponent(w.cls)}{${Object.entries(w.labels)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join(',')}}`,
  );
};

let store: ArchiveStore;
before(() => {
  store = createStore({ type: 'local', path: tempDir('erase-rewrite') });
});
after(async () => {
  await store?.close();
});

interface Fixture {
  lines: string[];
  selectors: string[];
  object: BatchManifest['object'];
  series: SeriesEntry[];
  body: Buffer;
}

/** `n` series of Warp 10 (10 points each), as an export stores them: members of about `target` bytes. */
async function fixture(url: string, n: number, target: number | undefined, key: string): Promise<Fixture> {
  const cls = uniqueId('test.erase.rw').replace(/-/g, '.');
  const r = await exec(
    url,
    `[] 0 ${n - 1} <% 'i' STORE NEWGTS '${cls}' RENAME { 'id' $i TOSTRING 'cust' $i 3 % TOSTRING } RELABEL
      1 10 <% 'j' STORE $j 1000000 * NaN NaN NaN $i $j * ADDVALUE %> FOR 'g' STORE
      [ $g WRAP $g TOSELECTOR ] +! %> FOR`,
  );
  assert.equal(r.error, undefined, r.error);
  const pairs = r.stack![0] as [string, string][];
  const lines = pairs.map(([l]) => l);
  const selectors = pairs.map(([, s]) => s);
  const encoder = new MemberEncoder(target);
  const chunks: Buffer[] = [];
  const at: [number, number][] = [];
  for await (const c of seekableGzip(
    lines.map((l) => `${l}\n`),
    encoder,
    (i, m, l) => (at[i] = [m, l]),
  ))
    chunks.push(c);
  const body = Buffer.concat(chunks);
  await store.put(key, body);
  const series = selectors.map((s, i) => ({
    selector: s,
    points: 10,
    first: 1_000_000,
    last: 10_000_000,
    ...(target === undefined && n > 0 ? {} : {}),
    member: at[i]![0],
    line: at[i]![1],
  }));
  return {
    lines,
    selectors,
    body,
    series,
    object: { key, bytes: body.length, sha256: sha(body), members: encoder.members },
  };
}

/** Each kept series' line, read from its new member alone at its new line. */
function lineAt(body: Buffer, members: { offset: number; bytes: number }[], member: number, line: number) {
  const m = members[member]!;
  return gunzipSync(body.subarray(m.offset, m.offset + m.bytes))
    .toString('latin1')
    .split('\n')
    .filter((l) => l !== '')[line];
}

describe('rewriteObject (an erasure rewriting one batch object)', () => {
  test('members without an erased series are kept byte for byte; the others lose exactly its lines; each kept series is where its entry says', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const f = await fixture(w.url, 60, 1_000, 'g/d/2026-01/batch-00001.wrap.gz');
    const members = f.object.members!;
    assert.ok(members.length >= 5, `several members (${members.length})`);
    // Series 1 and 2 (member 0), and every series of the last member.
    const last = members.length - 1;
    const gone = new Set([1, 2, ...f.series.flatMap((s, i) => (s.member === last ? [i] : []))]);
    const keys = new Set([...gone].map((i) => selectorKey(f.selectors[i]!)));
    const r = await rewriteObject(store, f.object, f.series, keys);
    assert.ok(r);
    assert.equal(r.erased.series, gone.size);
    assert.equal(r.erased.points, gone.size * 10);
    assert.equal(r.erased.lines, gone.size);
    assert.equal(r.members.length, members.length - 1, 'the member holding only erased series is gone');
    // Members 1..last-1 untouched: the very bytes, at new offsets.
    for (let i = 1; i < last; i++) {
      const old = f.body.subarray(members[i]!.offset, members[i]!.offset + members[i]!.bytes);
      const now = r.body.subarray(r.members[i]!.offset, r.members[i]!.offset + r.members[i]!.bytes);
      assert.ok(old.equals(now), `member ${i} copied byte for byte`);
      assert.equal(r.members[i]!.sha256, members[i]!.sha256);
    }
    assert.equal(
      r.copiedBytes,
      members.slice(1, last).reduce((n, m) => n + m.bytes, 0),
    );
    // Whole: every kept line, in order, and no erased one.
    const all = gunzipSync(r.body).toString('latin1').split('\n').filter(Boolean);
    assert.deepEqual(
      all,
      f.lines.filter((_, i) => !gone.has(i)),
    );
    assert.equal(r.sha256, sha(r.body));
    assert.equal(r.series.length, f.series.length - gone.size);
    for (const s of r.series) {
      const l = lineAt(r.body, r.members, s.member!, s.line!);
      assert.ok(l, `${s.selector}: a line at member ${s.member} line ${s.line}`);
      assert.equal(keyOfLine(l), selectorKey(s.selector), `${s.selector} is where its entry says`);
    }
  });

  test('an object written before members is rewritten whole, into members; nothing erased: no rewrite', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const f = await fixture(w.url, 12, undefined, 'g/d/2026-02/batch-00001.wrap.gz');
    const { members: _m, ...object } = f.object;
    const series = f.series.map(({ member: _a, line: _b, ...s }) => s);
    const keys = new Set([selectorKey(f.selectors[5]!)]);
    const r = await rewriteObject(store, object, series, keys);
    assert.ok(r);
    assert.equal(r.erased.lines, 1);
    assert.deepEqual(
      gunzipSync(r.body).toString('latin1').split('\n').filter(Boolean),
      f.lines.filter((_, i) => i !== 5),
    );
    for (const s of r.series)
      assert.equal(keyOfLine(lineAt(r.body, r.members, s.member!, s.line!)!), selectorKey(s.selector));
    assert.equal(await rewriteObject(store, f.object, f.series, new Set(['nothing'])), undefined);
  });

  test('a manifest that lies about where an erased series is, or a damaged member, stops the rewrite', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const f = await fixture(w.url, 40, 600, 'g/d/2026-03/batch-00001.wrap.gz');
    const far = f.series.findIndex((s) => s.member! >= 2);
    const lying = f.series.map((s, i) => (i === far ? { ...s, member: 0 } : s));
    await assert.rejects(
      rewriteObject(store, f.object, lying, new Set([selectorKey(f.selectors[far]!)])),
      (e: unknown) => e instanceof EraseCorruptError && /0 line\(s\) of erased series found/.test(e.message),
    );
    // A kept series said to be in a member that is rewritten, but elsewhere: named, not guessed.
    const moved = f.series.map((s, i) => (i === far ? { ...s, member: 0, line: 0 } : s));
    await assert.rejects(
      rewriteObject(store, f.object, moved, new Set([selectorKey(f.selectors[0]!)])),
      (e: unknown) => e instanceof EraseCorruptError && /has no line where it says/.test(e.message),
    );
    const members = f.object.members!.map((m, i) => (i === 1 ? { ...m, sha256: '0'.repeat(64) } : m));
    await assert.rejects(
      rewriteObject(store, { ...f.object, members }, f.series, new Set([selectorKey(f.selectors[0]!)])),
      (e: unknown) => e instanceof EraseCorruptError && /member 1 does not match its SHA-256/.test(e.message),
    );
    // Members that do not tile the object, or an object without members whose SHA-256 is not its own.
    const gap = f.object.members!.map((m, i) => (i === 1 ? { ...m, offset: m.offset + 1 } : m));
    await assert.rejects(
      rewriteObject(store, { ...f.object, members: gap }, f.series, new Set([selectorKey(f.selectors[0]!)])),
      (e: unknown) =>
        e instanceof EraseCorruptError && /member 1 is not where the members before it end/.test(e.message),
    );
    const { members: _m, ...whole } = f.object;
    await assert.rejects(
      rewriteObject(
        store,
        { ...whole, sha256: '1'.repeat(64) },
        f.series.map(({ member: _a, line: _b, ...x }) => x),
        new Set([selectorKey(f.selectors[0]!)]),
      ),
      (e: unknown) => e instanceof EraseCorruptError && /does not match the SHA-256/.test(e.message),
    );
  });
});
