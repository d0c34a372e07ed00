// The summary digest the guarded delete of a partition batch compares (archive-delete-partition.mc2):
// SHA-256 of one line per series with data, `<selector length>:<selector> <points> <first> <last>`, then
// ` <content hash>` when the series has one, sorted by UTF-16 code units (Java's String order, which
// LSORT uses) and joined by newlines. Sending one digest instead of every series' summary keeps the
// guard's request small and its comparison cheap; the length prefix keeps the lines unambiguous
// whatever a selector holds.
//
// The content hash of a series is computed by Warp 10 (the `contentHash` macro of archive-read.mc2,
// archive-delete.mc2, archive-delete-partition.mc2, archive-late.mc2): the first 16 hex digits of the
// SHA-256 of the series WRAPFASTed, sorted by tick and without its attributes. WRAPFAST encodes every
// point's tick, value and its type, location and elevation, so a value rewritten at an archived tick
// changes it; attributes are metadata that `DELETE` does not remove. 64 bits: an accidental collision
// of a changed series is a chance in 10^19, and the hash stays small in manifests of few-series batches.
import { createHash } from 'node:crypto';

export interface SeriesSummary {
  selector: string;
  points: number;
  first: number | null;
  last: number | null;
  hash?: string | undefined;
}

export function summaryDigest(series: readonly SeriesSummary[]): string {
  const lines = series
    .filter((s) => s.points > 0)
    .map(
      (s) =>
        `${s.selector.length}:${s.selector} ${s.points} ${s.first} ${s.last}${s.hash ? ` ${s.hash}` : ''}`,
    )
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(lines.join('\n'), 'utf8').digest('hex');
}

/**
 * The whole-content digest of a partition batch (archive-delete-partition.mc2 with `$wrap`): SHA-256 of
 * its series' WRAPs (each series with points, as FETCH gives it), sorted and joined by newlines. Warp 10
 * computes it with list functions, a dozen operations however many series; a WRAP holds every tick,
 * value, type, location and elevation, the labels and attributes, so any change to the batch changes it.
 */
export function wrapDigest(wrapped: Iterable<string>): string {
  const sorted = [...wrapped].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(sorted.join('\n'), 'utf8').digest('hex');
}
