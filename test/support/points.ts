// Reading points back for assertions: what Warp 10 holds of a class (dump.mc2), and what archived
// objects hold (gzip text, one WRAPped series a line), read back through stock UNWRAP (unwrap.mc2).
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ArchiveStore } from '../../src/store/types.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { httpRunner } from '../../src/warp10/runner.ts';
import type { Warp10Stack } from './stack.ts';

const DUMP = path.resolve(import.meta.dirname, 'warpscript', 'dump.mc2');
const UNWRAP = path.resolve(import.meta.dirname, 'warpscript', 'unwrap.mc2');

/** [selector as TOSELECTOR prints it, ticks, values], points oldest first. */
export type LiveRow = [string, number[], unknown[]];

/** Every point of class `cls` in Warp 10 `w`, a row a series. */
export async function dumpClass(w: Pick<Warp10Stack, 'url' | 'readToken'>, cls: string): Promise<LiveRow[]> {
  const c = new Warp10Client({ url: w.url });
  try {
    const [rows] = await httpRunner(c).run<[LiveRow[]]>(DUMP, { token: w.readToken, class: cls });
    return rows;
  } finally {
    await c.close();
  }
}

/** The lines of stored objects, in order: gzip text, one WRAPped series a line. */
export async function storedLines(store: ArchiveStore, keys: string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const key of keys) {
    const gunzip = createGunzip();
    Readable.from(await store.get(key)).pipe(gunzip);
    const chunks: Buffer[] = [];
    for await (const chunk of gunzip) chunks.push(chunk as Buffer);
    lines.push(
      ...Buffer.concat(chunks)
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
  }
  return lines;
}

/** [selector, ticks, values, latitudes, longitudes, elevations]; null where a point has none. */
export type UnwrapRow = [string, number[], unknown[], number[], number[], number[]];

/** WRAPped lines read back by stock UNWRAP in Warp 10 `w`, a row a line. */
export async function unwrapLines(w: Pick<Warp10Stack, 'url'>, lines: string[]): Promise<UnwrapRow[]> {
  const c = new Warp10Client({ url: w.url });
  try {
    const [rows] = await httpRunner(c).run<[UnwrapRow[]]>(UNWRAP, { wrapped: lines });
    return rows;
  } finally {
    await c.close();
  }
}
