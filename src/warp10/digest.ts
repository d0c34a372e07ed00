// The summary digest the guarded delete of a partition batch compares (archive-delete-partition.mc2):
// SHA-256 of one line per series with data, `<selector length>:<selector> <points> <first> <last>`,
// sorted by UTF-16 code units (Java's String order, which LSORT uses) and joined by newlines. Sending one
// digest instead of every series' summary keeps the guard's request small and its comparison cheap; the
// length prefix keeps the lines unambiguous whatever a selector holds.
import { createHash } from 'node:crypto';

export interface SeriesSummary {
  selector: string;
  points: number;
  first: number | null;
  last: number | null;
}

export function summaryDigest(series: readonly SeriesSummary[]): string {
  const lines = series
    .filter((s) => s.points > 0)
    .map((s) => `${s.selector.length}:${s.selector} ${s.points} ${s.first} ${s.last}`)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(lines.join('\n'), 'utf8').digest('hex');
}
