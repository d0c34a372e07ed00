// Seekable batch objects: a multi-member gzip, each member a run of whole lines (series), so one series
// is read by fetching its member alone (a range read) and the object stays one valid `.gz` for zcat,
// UNWRAP line by line and every reader that gunzips it whole.
//
// Members hold about MEMBER_BYTES of text: each one restarts gzip's dictionary. Against one member
// (BENCHMARKS.md): 200,000 series x 10 points +0.97 % at 512 KiB (+1.92 % at 256 KiB), very regular
// 1,488-point series +1.28 % (+2.64 %), the demo month +0.03 % (+0.07 %). One series costs its member to read.
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Member } from './manifest.ts';

const gzip = promisify(gzipCb);

export const MEMBER_BYTES = 512 * 1024;

/** Members compressed ahead of the write, in the thread pool, while the next ones fill. */
const IN_FLIGHT = 2;

/**
 * Gathers lines into members. `push` says which member a line lands in; `drain` yields the compressed
 * members in order and records each one's offset, length and hash in `members`.
 */
export class MemberEncoder {
  readonly members: Member[] = [];
  /** Index within its member of the line the last `push` added (readers go straight to it). */
  lastLine = -1;
  private parts: string[] = [];
  private size = 0;
  private closed = 0;
  private offset = 0;
  private readonly pending: Promise<Buffer>[] = [];

  constructor(private readonly target = MEMBER_BYTES) {}

  /** Adds one line (ending in a newline); returns the index of the member that holds it. */
  push(line: string): number {
    if (this.size > 0 && this.size + line.length > this.target) this.close();
    this.lastLine = this.parts.length;
    this.parts.push(line);
    this.size += line.length;
    return this.closed;
  }

  /** Whether enough members wait that the caller should write some before reading on. */
  get full(): boolean {
    return this.pending.length >= IN_FLIGHT;
  }

  /** Closes the last member; call once, after the last `push`. No line: one empty member, still a gzip. */
  finish(): void {
    if (this.size > 0 || this.closed === 0) this.close();
  }

  /** The members compressed so far, in order, but the last `keep` (all of them after `finish`). */
  async *drain(keep = 0): AsyncGenerator<Buffer> {
    while (this.pending.length > keep) {
      const buf = await this.pending.shift()!;
      this.members.push({
        offset: this.offset,
        bytes: buf.length,
        sha256: createHash('sha256').update(buf).digest('hex'),
      });
      this.offset += buf.length;
      yield buf;
    }
  }

  private close() {
    // WRAP output is ASCII: latin1 is byte for byte.
    this.pending.push(gzip(Buffer.from(this.parts.join(''), 'latin1')));
    this.parts = [];
    this.size = 0;
    this.closed++;
  }
}

/**
 * The gzip bytes of `lines` as members, for a store put; `assign(index, member, line)` is called with each
 * line's position in `lines`, the member that holds it and its line within that member.
 */
export async function* seekableGzip(
  lines: Iterable<string> | AsyncIterable<string>,
  encoder: MemberEncoder,
  assign?: (index: number, member: number, line: number) => void,
): AsyncGenerator<Buffer> {
  let i = 0;
  for await (const line of lines) {
    const member = encoder.push(line);
    assign?.(i++, member, encoder.lastLine);
    if (encoder.full) yield* encoder.drain(IN_FLIGHT - 1);
  }
  encoder.finish();
  yield* encoder.drain();
}
