// Seekable objects: a multi-member gzip read whole (Node's gunzip, the system's gzip -dc) gives every
// line in order, and each member read alone gives exactly the lines assigned to it.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { MemberEncoder, seekableGzip } from '../../src/archive/members.ts';

async function encode(lines: string[], target?: number) {
  const encoder = new MemberEncoder(target);
  const memberOf: number[] = [];
  const lineOf: number[] = [];
  const chunks: Buffer[] = [];
  for await (const c of seekableGzip(lines, encoder, (i, m, l) => {
    memberOf[i] = m;
    lineOf[i] = l;
  }))
    chunks.push(c);
  return { bytes: Buffer.concat(chunks), members: encoder.members, memberOf, lineOf };
}

const lines = Array.from(
  { length: 500 },
  (_, i) => `${i} ${randomBytes(50 + (i % 7) * 40).toString('base64')}\n`,
);

test('members of about the target size, one valid gzip read whole, each member alone its own lines', async () => {
  const { bytes, members, memberOf, lineOf } = await encode(lines, 8 * 1024);
  assert.ok(members.length > 5, `${members.length} members`);
  assert.equal(gunzipSync(bytes).toString('latin1'), lines.join(''));
  // Contiguous, in order, covering the object; the hash of each is its own bytes'.
  let offset = 0;
  for (const m of members) {
    assert.equal(m.offset, offset);
    const part = bytes.subarray(m.offset, m.offset + m.bytes);
    assert.equal(createHash('sha256').update(part).digest('hex'), m.sha256);
    offset += m.bytes;
  }
  assert.equal(offset, bytes.length);
  members.forEach((m, i) => {
    const text = gunzipSync(bytes.subarray(m.offset, m.offset + m.bytes)).toString('latin1');
    const mine = lines.filter((_, j) => memberOf[j] === i);
    assert.ok(mine.length > 0);
    assert.equal(text, mine.join(''), `member ${i}`);
    // Each line's number in its member is where it is (what a reader decodes alone).
    const numbered = text.split('\n');
    lines.forEach((l, j) => {
      if (memberOf[j] === i) assert.equal(`${numbered[lineOf[j]!]}\n`, l, `line ${j}`);
    });
    assert.ok(text.length <= 8 * 1024 || mine.length === 1, `member ${i}: ${text.length} bytes of text`);
  });
  // Lines keep their order: member numbers never go down.
  assert.deepEqual(
    memberOf,
    [...memberOf].sort((a, b) => a - b),
  );
});

test('a line longer than the target is a member of its own; the system gzip reads the object whole', async () => {
  const long = `big ${'x'.repeat(20_000)}\n`;
  const { bytes, members, memberOf } = await encode(['a\n', long, 'b\n'], 1024);
  assert.deepEqual(memberOf, [0, 1, 2]);
  assert.equal(members.length, 3);
  const dir = mkdtempSync(path.join(tmpdir(), 'members-'));
  try {
    const file = path.join(dir, 'batch.wrap.gz');
    writeFileSync(file, bytes);
    assert.equal(execFileSync('gzip', ['-dc', file]).toString('latin1'), `a\n${long}b\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no lines: one empty member, still a valid gzip', async () => {
  const { bytes, members } = await encode([]);
  assert.equal(gunzipSync(bytes).length, 0);
  assert.equal(members.length, 1);
  assert.equal(members[0]!.bytes, bytes.length);
});
