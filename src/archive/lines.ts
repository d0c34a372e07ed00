// The lines of a gzip batch object (one WRAPped series each), streamed: one line held at a time.
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * The longest line a reader holds: far above a series' month in a batch (batches hold ~250,000 points),
 * below V8's longest string. An object from the store is untrusted: a stream without line ends (damaged,
 * or a gzip bomb) is refused here instead of growing one string until the worker fails.
 */
export const MAX_LINE_BYTES = 256 * 1024 * 1024;

/** A line past MAX_LINE_BYTES: the object is damaged or is not an archive object. */
export class LineTooLongError extends Error {
  override name = 'LineTooLongError';
}

export async function* gzipLines(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  maxLineBytes = MAX_LINE_BYTES,
): AsyncGenerator<string> {
  const gunzip = createGunzip();
  // pipeline() destroys the gunzip stream with the source's error, so a failing read fails the loop.
  pipeline(Readable.from(body), gunzip, () => {});
  const tooLong = (line: number) =>
    new LineTooLongError(
      `line ${line} gunzips to more than ${maxLineBytes} bytes before its end: the object is damaged or is not an archive object`,
    );
  let rest = '';
  let line = 1;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      // WRAP output is ASCII: latin1 never splits a character across chunks. Only the chunk is split (the
      // line carried over joins its first piece), so a long line costs its length once, not squared.
      const pieces = chunk.toString('latin1').split('\n');
      pieces[0] = rest + pieces[0]!;
      rest = pieces.pop()!;
      for (const l of pieces) {
        if (l.length > maxLineBytes) throw tooLong(line);
        if (l !== '') yield l;
        line++;
      }
      if (rest.length > maxLineBytes) throw tooLong(line);
    }
  } finally {
    gunzip.destroy();
  }
  if (rest !== '') yield rest;
}
