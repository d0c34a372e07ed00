// What late data of one series comes to, as both ways of finding it return it: the late-data WarpScript
// (late.ts) and the worker's walk of a partition batch (late-partition.ts). Its own module so that
// neither of the two imports the other.
import type { SeriesEntry } from '../../archive/manifest.ts';

export interface LateRow {
  selector: string;
  wrapped: string | null;
  points: number;
  first: number | null;
  last: number | null;
  rewritten: number;
  live: SeriesEntry;
}
