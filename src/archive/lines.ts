// The lines of a gzip batch object (one WRAPped series each), streamed: one line held at a time.
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

export async function* gzipLines(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<string> {
  const gunzip = createGunzip();
  // pipeline() destroys the gunzip stream with the source's error, so a failing read fails the loop.
  pipeline(Readable.from(body), gunzip, () => {});
  let rest = '';
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    // WRAP output is ASCII: latin1 never splits a character across chunks.
    const text = rest + chunk.toString('latin1');
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) if (l !== '') yield l;
  }
  if (rest !== '') yield rest;
}
