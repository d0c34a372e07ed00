// Streams the items of the list on top of a Warp 10 JSON stack (`[ [ item, item, ... ] ]`) one at a time,
// so an export reply of hundreds of MB never sits whole in worker memory: only one item (one series)
// is buffered at a time. @streamparser/json does the parsing: it beat the hand-written scanner this
// replaced, in time and memory, on a 123 MB reply (BENCHMARKS.md, `npm run bench -- reader`).
import { JSONParser } from '@streamparser/json';

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const OPEN_LIST = 0x5b; // '['

export async function* topListItems(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<unknown> {
  // `$.0.*`: the items of the stack's top; `$.1`: a second value on the stack, which is an error. Without
  // keepStack, an item is dropped from the parser once handed over.
  const parser = new JSONParser({ paths: ['$.0.*', '$.1'], keepStack: false });
  let items: unknown[] = [];
  let secondValue = false;
  parser.onValue = ({ value, stack }) => {
    if (stack.length === 1) secondValue = true;
    else items.push(value);
  };
  // The first two characters that are not white space must be `[[`: a stack whose top is a list. An empty
  // list yields no item, as a scalar on top would, so the parser's output alone cannot tell them apart.
  const head: number[] = [];
  for await (const chunk of body) {
    for (let i = 0; head.length < 2 && i < chunk.length; i++) {
      const c = typeof chunk === 'string' ? chunk.charCodeAt(i) : (chunk[i] ?? 0);
      if (!WHITESPACE.has(c)) head.push(c);
    }
    parser.write(chunk);
    if (secondValue) throw new Error('unexpected reply: more than one value on the stack');
    yield* items;
    items = [];
  }
  if (head[0] !== OPEN_LIST || head[1] !== OPEN_LIST) {
    throw new Error('unexpected reply: no list on top of the stack');
  }
  // The parser ends itself after the one top-level value; not ended means the reply stopped short.
  if (!parser.isEnded) throw new Error('unexpected reply: truncated JSON');
}
