// What the Temporal Web UI shows about each run and activity: a one-line summary per workflow (its
// "User Metadata"), current details that follow the run's progress, and one summary per activity so
// the timeline reads "export batch 3/8 (500 series)" instead of eight identical "exportBatch" rows.
// Pure functions: deterministic, safe in workflows. Nothing secret ever goes in here (names, counts).

export interface DatasetMonthRef {
  group: string;
  dataset: string;
  month: string;
}

/** 1234 → "1,234"; 1_234_567 → "1.2 M"; 12_345 → "12.3 k". Locale-free, so replay is deterministic. */
export function formatCount(n: number): string {
  const abs = Math.abs(n);
  const short = (v: number, unit: string) => `${(Math.round(v * 10) / 10).toFixed(1)} ${unit}`;
  if (abs >= 1e9) return short(n / 1e9, 'G');
  if (abs >= 1e6) return short(n / 1e6, 'M');
  if (abs >= 1e4) return short(n / 1e3, 'k');
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${(Math.round(v * 10) / 10).toFixed(1)} ${units[u]}`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;

const label = (r: DatasetMonthRef) => `${r.group}/${r.dataset} ${r.month}`;

/** The archive run's static summary: which dataset-month, readable in the workflow list. */
export function archiveSummary(r: DatasetMonthRef & { dryRun?: boolean }): string {
  return `${label(r)} — archive${r.dryRun ? ' (dry run)' : ''}`;
}

export function archiveStaticDetails(r: DatasetMonthRef & { dryRun?: boolean }): string {
  return [
    `**Archive** of dataset \`${r.group}/${r.dataset}\` for month **${r.month}**${r.dryRun ? ' (dry run: nothing is written or deleted)' : ''}.`,
    '',
    'Phases: plan → export → verify → delete → commit (→ purge, for datasets with `purgeEmptySeries`). Progress: the `archiveProgress` query and the current details.',
  ].join('\n');
}

export interface ArchiveProgressView {
  phase: string;
  batches: number;
  exported: number;
  verified: number;
  deleted: number;
  series: number;
  points: number;
  bytes: number;
}

/** The current details: "infra/os-cpu 2026-10 — export 3/8 batches, 1.2 M points". */
export function archiveCurrentDetails(r: DatasetMonthRef, p: ArchiveProgressView): string {
  const done: Record<string, number> = { export: p.exported, verify: p.verified, delete: p.deleted };
  const amounts = `${plural(p.series, 'series', 'series')}, ${plural(p.points, 'point')}, ${formatBytes(p.bytes)}`;
  const step = done[p.phase];
  if (step !== undefined) return `${label(r)} — ${p.phase} ${step}/${p.batches} batches, ${amounts}`;
  if (p.phase === 'plan') return `${label(r)} — planning`;
  return `${label(r)} — ${p.phase}: ${p.batches} batches, ${amounts}`;
}

/** An activity's summary: "export batch 3/8 (500 series)"; the series count when it is known. */
export function batchSummary(phase: string, batch: number, batches: number, series?: number): string {
  const s = series === undefined ? '' : ` (${plural(series, 'series', 'series')})`;
  return `${phase} batch ${batch}/${batches}${s}`;
}

export function planSummary(r: DatasetMonthRef & { dryRun?: boolean }): string {
  return `plan ${label(r)}${r.dryRun ? ' (dry run)' : ''}`;
}

export function commitSummary(r: DatasetMonthRef, batches: number): string {
  return `commit ${label(r)} (${plural(batches, 'batch', 'batches')})`;
}

export function stageSummary(r: DatasetMonthRef, batches: number): string {
  return `index ${label(r)} ahead of its commit (${plural(batches, 'batch', 'batches')})`;
}

export function catalogSummary(r: DatasetMonthRef): string {
  return `publish ${label(r)} to the catalog`;
}

export function purgeSummary(r: DatasetMonthRef): string {
  return `purge the metadata of ${label(r)}'s emptied series`;
}

/** The failure workflow's summary names the failed phase and batch. */
export function failureSummary(
  f: DatasetMonthRef & {
    phase: string;
    batch?: number;
    batchCount?: number;
    error: { type: string };
  },
): string {
  const where =
    f.batch === undefined ? f.phase : `${f.phase}, batch ${f.batch}${f.batchCount ? `/${f.batchCount}` : ''}`;
  return `${label(f)} — FAILED in ${where}: ${f.error.type}`;
}

export function monthlySummary(month: string, opts: { dryRun?: boolean; groups?: string[] } = {}): string {
  const which = opts.groups && opts.groups.length > 0 ? ` (groups ${opts.groups.join(', ')})` : '';
  return `monthly offload ${month}${which}${opts.dryRun ? ' (dry run)' : ''}`;
}

export function groupSummary(month: string, group: string, dryRun?: boolean): string {
  return `group ${group} ${month}${dryRun ? ' (dry run)' : ''}`;
}

/**
 * The series in batch `batch` when it can be known before exporting it: plans cut the series list in
 * batches of a fixed size, so every batch but the last has the size of the first.
 */
export function seriesInBatch(
  batch: number,
  batches: number,
  totalSeries: number,
  firstBatchSeries?: number,
): number | undefined {
  if (batches === 1) return totalSeries;
  if (firstBatchSeries === undefined) return undefined;
  return batch < batches ? firstBatchSeries : totalSeries - firstBatchSeries * (batches - 1);
}
