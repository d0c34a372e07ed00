import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { topListItems } from '../../src/warp10/json-stream.ts';

async function collect(chunks: string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  async function* gen() {
    for (const c of chunks) yield new TextEncoder().encode(c);
  }
  for await (const item of topListItems(gen())) out.push(item);
  return out;
}

/** Splits a string into chunks of n characters (also splits multi-byte characters across chunks). */
function chunked(s: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += n) out.push(s.slice(i, i + n));
  return out;
}

describe('topListItems', () => {
  const items = [
    ['cpu{host=a%2Cb}', 3, 1000, 3000, 'OPB64wrap-_'],
    ['weird{x=%22]}', 0, null, null, ''],
    { k: '[{"]}\\', n: [1, [2, 3]] },
    42,
    'plain ] string',
    true,
  ];
  const reply = JSON.stringify([items]);

  test('yields each item of the top list, whole reply in one chunk', async () => {
    assert.deepEqual(await collect([reply]), items);
  });

  for (const n of [1, 2, 3, 7, 64]) {
    test(`yields the same items when the reply arrives in ${n}-character chunks`, async () => {
      assert.deepEqual(await collect(chunked(reply, n)), items);
    });
  }

  test('handles non-ASCII split across byte chunks', async () => {
    const r = JSON.stringify([['été 日本', 'x']]);
    const bytes = new TextEncoder().encode(r);
    async function* gen() {
      for (const b of bytes) yield Uint8Array.of(b);
    }
    const out: unknown[] = [];
    for await (const item of topListItems(gen())) out.push(item);
    assert.deepEqual(out, ['été 日本', 'x']);
  });

  test('an empty top list yields nothing', async () => {
    assert.deepEqual(await collect(['[ [ ] ]']), []);
  });

  test('a truncated reply is an error, not a short result', async () => {
    await assert.rejects(collect([reply.slice(0, reply.length - 5)]), /truncated/);
  });

  test('a second value on the stack is an error', async () => {
    await assert.rejects(collect(['[[1],[2]]']), /more than one value/);
  });

  test('a reply without a list is an error', async () => {
    await assert.rejects(collect(['[42]']), /no list/);
  });
});
