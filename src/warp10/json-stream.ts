// Streams the items of the list on top of a Warp 10 JSON stack (`[ [ item, item, ... ] ]`) one at a time,
// so an export reply of hundreds of MB never sits whole in worker memory: only one item (one series)
// is buffered at a time.

export async function* topListItems(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder('utf-8');
  let depth = 0; // bracket depth: 1 = the stack, 2 = inside the top list
  let inString = false;
  let escaped = false;
  let item: string[] = [];
  let itemStart = -1;
  let seenTopList = false;

  const process = function* (chunk: string): Generator<unknown> {
    let from = itemStart >= 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') {
        inString = true;
        if (depth === 2 && itemStart < 0) {
          itemStart = 0;
          from = i;
        }
        continue;
      }
      if (c === '[' || c === '{') {
        if (depth === 2 && itemStart < 0) {
          itemStart = 0;
          from = i;
        }
        depth++;
        if (depth === 2) {
          if (seenTopList) throw new Error('unexpected reply: more than one list on the stack');
          seenTopList = true;
        }
        continue;
      }
      if (c === ']' || c === '}') {
        depth--;
        if (depth === 1 && itemStart >= 0) {
          // End of the top list closes a pending scalar item.
          item.push(chunk.slice(from, i));
          yield parseItem(item);
          item = [];
          itemStart = -1;
          from = -1;
        } else if (depth === 2 && itemStart >= 0) {
          item.push(chunk.slice(from, i + 1));
          yield parseItem(item);
          item = [];
          itemStart = -1;
          from = -1;
        }
        continue;
      }
      if (depth === 2) {
        if (c === ',') {
          if (itemStart >= 0) {
            item.push(chunk.slice(from, i));
            yield parseItem(item);
            item = [];
            itemStart = -1;
            from = -1;
          }
        } else if (itemStart < 0 && c !== undefined && !/\s/.test(c)) {
          itemStart = 0;
          from = i;
        }
      }
    }
    if (itemStart >= 0 && from >= 0) item.push(chunk.slice(from));
  };

  for await (const raw of body) {
    const chunk = typeof raw === 'string' ? raw : decoder.decode(raw, { stream: true });
    yield* process(chunk);
  }
  yield* process(decoder.decode());
  if (!seenTopList) throw new Error('unexpected reply: no list on top of the stack');
  if (depth !== 0) throw new Error('unexpected reply: truncated JSON');
}

function parseItem(parts: string[]): unknown {
  const text = parts.join('').trim();
  // A list holding only scalars or closing early leaves a trailing comma-free fragment; ignore empty ones.
  return JSON.parse(text);
}
