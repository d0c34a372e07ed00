// collectText, the one reader of whole objects (getText on both backends): bounded in what it reads and
// in what gunzip may produce; a refusal names the object by its key and releases the source.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { collectText } from '../../src/store/common.ts';
import { StorePermanentError } from '../../src/store/types.ts';

/** A body of these chunks. */
async function* body(...chunks: Buffer[]) {
  yield* chunks;
}

test('collectText stops reading past its limit, releases the source and names the key; gunzip is bounded too', async () => {
  let pulled = 0;
  let released = false;
  async function* source() {
    try {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield Buffer.alloc(10, 0x61);
      }
    } finally {
      released = true;
    }
  }
  const refused = (pattern: RegExp) => (err: unknown) => {
    assert.ok(err instanceof StorePermanentError, String(err));
    assert.equal(err.code, 'ObjectTooLarge');
    assert.match(err.message, /^get text of "g\/d\/2026-10\/plan\.json" refused: /);
    assert.match(err.message, pattern);
    return true;
  };
  await assert.rejects(
    collectText(source(), 'g/d/2026-10/plan.json', 25),
    refused(/the object is larger than 25 bytes/),
  );
  assert.equal(pulled, 3, 'reading stopped at the chunk past the limit');
  assert.ok(released, 'the source was released');

  const bomb = gzipSync(Buffer.alloc(1000, 0x20));
  assert.ok(bomb.length < 100);
  await assert.rejects(
    collectText(body(bomb), 'g/d/2026-10/plan.json', 100),
    refused(/it gunzips to more than 100 bytes/),
  );
  assert.equal(await collectText(body(bomb), 'k', 1000), ' '.repeat(1000));
  assert.equal(await collectText(body(Buffer.from('{"a":1}')), 'k', 7), '{"a":1}');
});
