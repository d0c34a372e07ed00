// The month index's encoding (src/archive/month-index.ts), read back as the extension reads it: footer at
// the offset the reference gives, each block at the footer's offset, series in UTF-16 order.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { BatchManifest, MonthRange } from '../../src/archive/manifest.ts';
import {
  INDEX_BLOCK_BYTES,
  buildMonthIndex,
  IndexUnreadable,
  compareMonthIndex,
  indexInputs,
  indexOwners,
  readMonthIndex,
  monthIndexKey,
  type FooterBlock,
} from '../../src/archive/month-index.ts';

const range: MonthRange = {
  timezone: 'UTC',
  startIso: '2026-05-01T00:00:00Z',
  endIso: '2026-06-01T00:00:00Z',
  startUs: 1_777_593_600_000_000,
  endUs: 1_780_272_000_000_000,
};
const S = range.startUs;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function batch(
  n: number,
  series: BatchManifest['series'],
  extra: Partial<BatchManifest> = {},
): BatchManifest {
  return {
    format: 'warp10-offloader/batch@1',
    group: 'g',
    dataset: 'd',
    month: '2026-05',
    batch: n,
    range,
    object: {
      key: `g/d/2026-05/batch-${String(n).padStart(5, '0')}.wrap.gz`,
      bytes: 300,
      sha256: 'a'.repeat(64),
      members: [
        { offset: 0, bytes: 100, sha256: 'b'.repeat(64) },
        { offset: 100, bytes: 200, sha256: 'c'.repeat(64) },
      ],
    },
    series,
    points: series.reduce((n, s) => n + s.points, 0),
    status: 'deleted',
    exportedAt: '',
    exportMs: 0,
    ...extra,
  };
}

interface Footer {
  format: string;
  series: number;
  parts: unknown[][];
  blocks: FooterBlock[];
}

function read(body: Buffer, footer: { offset: number; bytes: number }) {
  const f = JSON.parse(
    gunzipSync(body.subarray(footer.offset, footer.offset + footer.bytes)).toString(),
  ) as Footer;
  const blocks = f.blocks.map((b) => {
    const raw = body.subarray(b.offset, b.offset + b.bytes);
    assert.equal(sha(raw), b.sha256);
    const lines = gunzipSync(raw).toString().trimEnd().split('\n');
    return { lines: lines.map((l) => l.split('\t')) };
  });
  return { f, blocks };
}

describe('month index encoding', () => {
  test('every series with points, sorted as Java compares strings, export first then supplements; empty series left out', () => {
    const b1 = batch(1, [
      { selector: 'c{k=b}', points: 2, first: S + 1, last: S + 2, member: 1, line: 4 },
      { selector: 'c{k=empty}', points: 0, first: null, last: null },
      {
        selector: 'c{k=\u00e9}',
        points: 1,
        first: S + 5,
        last: S + 5,
        member: 0,
        attributes: { rack: 'r1' },
      },
    ]);
    b1.supplements = [
      {
        object: {
          key: 'g/d/2026-05/batch-00001.late-01.wrap.gz',
          bytes: 50,
          sha256: 'd'.repeat(64),
          members: [{ offset: 0, bytes: 50, sha256: 'd'.repeat(64) }],
        },
        series: [{ selector: 'c{k=b}', points: 1, first: S + 9, last: S + 9, member: 0 }],
        points: 1,
        live: [],
        exportedAt: '',
      },
    ];
    // An object written before members: the whole object is the part.
    const b2 = batch(2, [{ selector: 'C{k=a}', points: 3, first: S, last: S + 3 }], {
      object: { key: 'g/d/2026-05/batch-00002.wrap.gz', bytes: 77, sha256: 'e'.repeat(64) },
    });
    const built = buildMonthIndex([b1, b2], range);
    assert.equal(built.ref.sha256, sha(built.body));
    assert.equal(built.ref.bytes, built.body.length);
    const { f, blocks } = read(built.body, built.ref.footer);
    assert.equal(f.series, 3);
    assert.equal(blocks.length, 1);
    const [{ lines }] = blocks as [(typeof blocks)[number]];
    const table = f.parts;
    assert.equal(f.format, 'warp10-offloader/index@2');
    assert.equal(new Set(table.map((p) => JSON.stringify(p))).size, table.length, 'each part once');
    assert.deepEqual(
      lines.map((l) => l[0]),
      ['C{k=a}', 'c{k=b}', 'c{k=\u00e9}'],
    );
    const parts = (l: string[]) =>
      l[4]!.split(',').map((r) => {
        const [p, points, first, last, line] = r.split(':').map(Number);
        return [table[p!], points, first, last, ...(line === undefined ? [] : [line])];
      });
    assert.deepEqual(parts(lines[0]!), [[['batch-00002.wrap.gz', 0, 77, 'e'.repeat(64), 1], 3, S, S + 3]]);
    assert.deepEqual(parts(lines[1]!), [
      [['batch-00001.wrap.gz', 100, 200, 'c'.repeat(64), 0], 2, S + 1, S + 2, 4],
      [['batch-00001.late-01.wrap.gz', 0, 50, 'd'.repeat(64), 0], 1, S + 9, S + 9],
    ]);
    assert.deepEqual(JSON.parse(lines[2]![3]!), { rack: 'r1' });
    // The block names its series' attributes: a selector's rack=… may match one, which its label filter cannot say.
    assert.deepEqual(f.blocks[0]!.attributes, ['rack']);
    assert.deepEqual(
      [lines[1]![1], lines[1]![2]],
      ['', ''],
      'owner and producer: not recorded by this format',
    );
    assert.equal(
      monthIndexKey('g/d/2026-05/', built.ref.sha256),
      `g/d/2026-05/index-${built.ref.sha256.slice(0, 16)}.idx`,
    );
  });

  test('many series: blocks of about 64 KiB of text, ordered and disjoint; the footer lists each part once', () => {
    const series = Array.from({ length: 20_000 }, (_, i) => ({
      selector: `app.metric{app=${(i * 7919) % 20_000},inst=${i.toString(16).padStart(8, '0')}}`,
      points: 10,
      first: S,
      last: S + 9,
      member: i % 2,
    }));
    const built = buildMonthIndex([batch(1, series.slice(0, 10_000)), batch(2, series.slice(10_000))], range);
    const { f, blocks } = read(built.body, built.ref.footer);
    assert.ok(f.blocks.length > 5, `${f.blocks.length} blocks`);
    assert.equal(built.ref.blocks, f.blocks.length);
    let previous = '';
    let count = 0;
    for (const [i, b] of blocks.entries()) {
      const names = b.lines.map((l) => l[0]!);
      assert.equal(names[0], f.blocks[i]!.first);
      assert.equal(names.at(-1), f.blocks[i]!.last);
      for (const n of names) {
        assert.ok(n > previous, `${n} after ${previous}`);
        previous = n;
      }
      count += names.length;
      const text = b.lines.map((l) => l.join('\t')).join('\n').length;
      assert.ok(text < INDEX_BLOCK_BYTES + 200, `block ${i}: ${text} bytes of text`);
    }
    assert.equal(count, 20_000);
    // Two batches of two members: four parts for the month, however many blocks number them.
    assert.equal(f.parts.length, 4);
    const used = new Set(
      blocks.flatMap((b) => b.lines.flatMap((l) => l[4]!.split(',').map((r) => r.split(':')[0]))),
    );
    assert.deepEqual([...used].sort(), ['0', '1', '2', '3']);
  });

  test('an index of format @1 (a part table heading each block) reads as the same index: verify finds nothing to report, owners read alike', () => {
    const all = [
      batch(1, [
        { selector: 'c{k=a}', points: 1, first: S, last: S, member: 0, line: 0 },
        { selector: 'c{k=b}', points: 2, first: S, last: S + 1, member: 1, line: 0 },
      ]),
      batch(2, [{ selector: 'c{k=c}', points: 1, first: S + 5, last: S + 5, member: 1, line: 3 }]),
    ];
    const owners = new Map([
      ['c{k=a}', [['o1', 'p1']] as [string, string][]],
      [
        'c{k=b}',
        [
          ['o1', 'p1'],
          ['o2', 'p2'],
        ] as [string, string][],
      ],
      ['c{k=c}', [['o2', 'p2']] as [string, string][]],
    ]);
    const v2 = buildMonthIndex(all, range, owners);
    // The same index written as @1: each block's own table of the parts it uses, numbered in it.
    const { f, blocks } = read(v2.body, v2.ref.footer);
    const chunks: Buffer[] = [];
    let offset = 0;
    const v1Blocks = blocks.map(({ lines }, i) => {
      const table: unknown[][] = [];
      const local = new Map<string, number>();
      const text = lines.map((l) => {
        const refs = l[4]!.split(',').map((r) => {
          const [p, ...rest] = r.split(':');
          const part = f.parts[Number(p)]!;
          const k = JSON.stringify(part);
          if (!local.has(k)) local.set(k, table.push(part) - 1);
          return [local.get(k), ...rest].join(':');
        });
        return [...l.slice(0, 4), refs.join(',')].join('\t');
      });
      const gz = gzipSync(`${JSON.stringify(table)}\n${text.join('\n')}\n`);
      const b = { ...f.blocks[i]!, offset, bytes: gz.length, sha256: sha(gz) };
      chunks.push(gz);
      offset += gz.length;
      return b;
    });
    const { parts: _parts, ...rest } = f;
    const footer = gzipSync(
      JSON.stringify({ ...rest, format: 'warp10-offloader/index@1', blocks: v1Blocks }),
    );
    const body = Buffer.concat([...chunks, footer]);
    const ref = {
      bytes: body.length,
      sha256: sha(body),
      footer: { offset, bytes: footer.length, sha256: sha(footer) },
    };
    assert.notEqual(ref.sha256, v2.ref.sha256);
    assert.deepEqual(compareMonthIndex(body, ref, all, range), []);
    assert.deepEqual(indexOwners(body, ref), indexOwners(v2.body, v2.ref));
    assert.deepEqual(indexOwners(body, ref), owners);
    // And a difference is still seen through @1's tables: one series' tick changed.
    const other = [
      all[0]!,
      batch(2, [{ selector: 'c{k=c}', points: 1, first: S + 6, last: S + 6, member: 1, line: 3 }]),
    ];
    assert.equal(compareMonthIndex(body, ref, other, range).length, 2);
  });

  test('a stored index is read as untrusted: its footer names its format and parts, a block is read once, a part number is a number', () => {
    const all = [
      batch(1, [
        { selector: 'c{k=a}', points: 1, first: S, last: S, member: 0 },
        { selector: 'c{k=b}', points: 1, first: S, last: S, member: 1 },
      ]),
    ];
    const good = buildMonthIndex(all, range);
    const { f } = read(good.body, good.ref.footer);
    const blocksEnd = good.ref.footer.offset;
    // The same blocks under another footer, hashes kept consistent: only what a writer to the store could do.
    const withFooter = (footer: object, blocks = good.body.subarray(0, blocksEnd)) => {
      const gz = gzipSync(JSON.stringify(footer));
      const body = Buffer.concat([blocks, gz]);
      const ref = {
        bytes: body.length,
        sha256: sha(body),
        footer: { offset: blocks.length, bytes: gz.length, sha256: sha(gz) },
      };
      return compareMonthIndex(body, ref, all, range);
    };
    assert.deepEqual(withFooter(f), []);
    const { parts: _dropped, ...noParts } = f;
    assert.deepEqual(withFooter(noParts), [
      'is not readable: the footer of format warp10-offloader/index@2 lists parts or not',
    ]);
    assert.deepEqual(withFooter({ ...f, format: 'warp10-offloader/index@9' }), [
      'is not readable: the footer is not of an index format this reads',
    ]);
    assert.deepEqual(withFooter({ ...f, blocks: [f.blocks[0], f.blocks[0]] }), [
      'is not readable: index block 1 is not where a block can be (after block 0, before the footer)',
    ]);
    // A part numbered '' (Number('') is 0) or past the table: the entry differs from the manifests.
    const [blk] = f.blocks;
    const text = gunzipSync(good.body.subarray(blk!.offset, blk!.offset + blk!.bytes))
      .toString()
      .replace(/\t0:/g, '\t:');
    const gz = gzipSync(text);
    const problems = withFooter({ ...f, blocks: [{ ...blk!, bytes: gz.length, sha256: sha(gz) }] }, gz);
    assert.equal(problems.length, 2, problems.join('; '));
    assert.match(problems[0]!, /^lacks 1 series entr\(ies\)/);
  });

  test('indexInputs: what the deletes change leaves it alike; a supplement, a series, a member or the range changes it', () => {
    const series = [
      { selector: 'c{a=1}', points: 2, first: S, last: S + 1, member: 0, line: 0 },
      { selector: 'c{a=2}', points: 1, first: S, last: S, member: 1, line: 0 },
    ];
    const exported = [batch(1, series, { status: 'exported' })];
    const base = indexInputs(range, exported);
    const deleted = [
      batch(1, series, {
        status: 'deleted',
        verifiedAt: 'v',
        deletedAt: 'd',
        deleted: { deleted: 2, alreadyGone: 0, checked: 2 },
      }),
    ];
    assert.equal(indexInputs(range, deleted), base, 'status, times and deletion counts: alike');
    const supplement = {
      object: { key: 'g/d/2026-05/batch-00001.s1.wrap.gz', bytes: 10, sha256: 'd'.repeat(64) },
      series: [{ selector: 'c{a=1}', points: 1, first: S + 2, last: S + 2 }],
      points: 1,
      verifiedAt: 'v',
    } as unknown as NonNullable<BatchManifest['supplements']>[number];
    const changed: [string, BatchManifest[], MonthRange][] = [
      ['a supplement', [batch(1, series, { supplements: [supplement] })], range],
      ['a line', [batch(1, [{ ...series[0]!, line: 1 }, series[1]!])], range],
      ['a series', [batch(1, series.slice(0, 1))], range],
      ['another batch', [...exported, batch(2, series)], range],
      ['the range', exported, { ...range, endUs: range.endUs + 1 }],
    ];
    for (const [what, manifests, r] of changed) assert.notEqual(indexInputs(r, manifests), base, what);
  });

  test('compareMonthIndex: an index made from other manifests is named for what it lacks or adds; a damaged one for its hashes', () => {
    const all = [
      batch(1, [
        { selector: 'c{k=a}', points: 1, first: S, last: S, member: 0 },
        { selector: 'c{k=b}', points: 1, first: S, last: S, member: 1 },
      ]),
    ];
    const fewer = [batch(1, [{ selector: 'c{k=a}', points: 1, first: S, last: S, member: 0 }])];
    const good = buildMonthIndex(all, range);
    assert.deepEqual(compareMonthIndex(good.body, good.ref, all, range), []);
    const short = buildMonthIndex(fewer, range);
    assert.deepEqual(compareMonthIndex(short.body, short.ref, all, range), [
      'lacks 1 series entr(ies) of the batch manifests, e.g. c{k=b}',
    ]);
    assert.deepEqual(compareMonthIndex(good.body, good.ref, fewer, range), [
      'holds 1 series entr(ies) the batch manifests do not, e.g. c{k=b}',
    ]);
    const damaged = Buffer.from(good.body);
    damaged[3] = damaged[3]! ^ 0xff;
    assert.match(compareMonthIndex(damaged, good.ref, all, range)[0]!, /another SHA-256/);
  });

  test('readMonthIndex: only the month’s own index object, its size checked before any read, read no further than manifest.json says', async () => {
    const ref = { group: 'g', dataset: 'd', month: '2026-05' };
    const key = 'g/d/2026-05/index-0123456789abcdef.idx';
    const body = Buffer.from('x'.repeat(100));
    const asked: string[] = [];
    const store = {
      get: async (k: string) => {
        asked.push(k);
        return (async function* () {
          yield body.subarray(0, 60);
          yield body.subarray(60);
        })();
      },
    };
    assert.deepEqual(await readMonthIndex(store, ref, { key, bytes: 100 }), body);
    const refused = async (index: { key: string; bytes: number }, problem: RegExp) => {
      const before = asked.length;
      await assert.rejects(
        readMonthIndex(store, ref, index),
        (err: unknown) =>
          err instanceof IndexUnreadable && err.key === index.key && problem.test(err.problem),
      );
      return asked.length - before;
    };
    for (const other of [
      'g/d/2026-04/index-0123456789abcdef.idx',
      'g/d/2026-05/../../x/index-0123456789abcdef.idx',
      'g/d/2026-05/manifest.json',
    ]) {
      assert.equal(
        await refused({ key: other, bytes: 100 }, /^is not an index object of this month/),
        0,
        other,
      );
    }
    assert.equal(
      await refused(
        { key, bytes: 200 * 1024 * 1024 },
        /^is 209715200 bytes, over the 134217728 an index may be$/,
      ),
      0,
    );
    // Longer than said: refused at the chunk that passes it.
    assert.equal(await refused({ key, bytes: 99 }, /^is longer than manifest.json says \(99 bytes\)$/), 1);
  });
});
