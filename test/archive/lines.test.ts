// gzipLines (src/archive/lines.ts): an archive object's lines streamed, and a line without end refused.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { LineTooLongError, gzipLines } from '../../src/archive/lines.ts';

async function all(body: Buffer, max?: number): Promise<string[]> {
  const out: string[] = [];
  // Fed in small pieces, as a store streams an object.
  const pieces = Array.from({ length: Math.ceil(body.length / 1000) }, (_, i) =>
    body.subarray(i * 1000, (i + 1) * 1000),
  );
  for await (const l of gzipLines(pieces, max)) out.push(l);
  return out;
}

describe('gzipLines', () => {
  test('lines across chunks and gzip members, empty lines skipped, a last line without end kept', async () => {
    const long = 'x'.repeat(200_000);
    const body = Buffer.concat([gzipSync(`a\n\nb${long}`), gzipSync(`c\nd\n`), gzipSync('e')]);
    assert.deepEqual(await all(body), ['a', `b${long}c`, 'd', 'e']);
  });

  test('a stream without line ends past the bound (damaged, or a gzip bomb) is refused, naming the line', async () => {
    const bomb = gzipSync(Buffer.concat([Buffer.from('ok\n'), Buffer.alloc(3 * 1024 * 1024, 0x41)]));
    assert.ok(bomb.length < 20_000, `${bomb.length} bytes of gzip`);
    const seen: string[] = [];
    await assert.rejects(
      async () => {
        for await (const l of gzipLines([bomb], 1024 * 1024)) seen.push(l);
      },
      (err: unknown) =>
        err instanceof LineTooLongError &&
        /line 2 gunzips to more than 1048576 bytes before its end/.test(err.message),
    );
    assert.deepEqual(seen, ['ok']);
    // A line of exactly the bound passes; one byte more does not.
    assert.equal((await all(gzipSync('y'.repeat(1024 * 1024) + '\n'), 1024 * 1024))[0]!.length, 1024 * 1024);
    await assert.rejects(all(gzipSync('y'.repeat(1024 * 1024 + 1) + '\n'), 1024 * 1024), LineTooLongError);
  });
});
