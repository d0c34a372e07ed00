// What manifest.json says of a month's batches, from their batch manifests: written by a commit and by an
// erasure, so that both count alike.
import type { BatchManifest, MonthManifest } from './manifest.ts';

export interface MonthSummary {
  batches: MonthManifest['batches'];
  series: number;
  /** Every point once: a supplement's rewritten ticks are counted by the object they replace. */
  points: number;
  bytes: number;
}

export function summarizeBatches(manifests: BatchManifest[]): MonthSummary {
  const batches: MonthManifest['batches'] = manifests.map((m) => {
    const supplements = (m.supplements ?? []).map(({ object: { members: _, ...object }, ...x }) => ({
      ...object,
      points: x.points,
      ...(x.rewritten ? { rewritten: x.rewritten } : {}),
    }));
    return {
      batch: m.batch,
      key: m.object.key,
      bytes: m.object.bytes,
      sha256: m.object.sha256,
      series: m.series.length,
      points: m.points,
      ...(supplements.length > 0 ? { supplements } : {}),
    };
  });
  const late = batches.flatMap((b) => b.supplements ?? []);
  return {
    batches,
    series: batches.reduce((n, b) => n + b.series, 0),
    points:
      batches.reduce((n, b) => n + b.points, 0) + late.reduce((n, x) => n + x.points - (x.rewritten ?? 0), 0),
    bytes: batches.reduce((n, b) => n + b.bytes, 0) + late.reduce((n, x) => n + x.bytes, 0),
  };
}
