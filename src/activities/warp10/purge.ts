// Purge: after a month is committed, the series it archived that hold no point left in Warp 10 at all
// lose their metadata (ARCHIVE.PURGE, archive-purge.mc2), so that the hot directory keeps live series only.
// No point is deleted here; what leaves is recorded in the month's purge.json, and looked at again after a
// grace and at the dataset's next purge (an update registers its series before it stores its points).
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { batchOfKey, monthManifestKey, purgeKey, type MonthRef } from '../../archive/layout.ts';
import {
  IndexUnreadable,
  indexOwners,
  readMonthIndex,
  type SeriesOwners,
} from '../../archive/month-index.ts';
import {
  MonthManifestSchema,
  type MonthManifest,
  PurgeRecordSchema,
  type PurgeRecord,
  type PurgedSeries,
} from '../../archive/manifest.ts';
import { WarpScriptError } from '../../warp10/client.ts';
import { nonRetryable, toFailure } from '../failures.ts';
import { readJson, writeJson } from '../store-json.ts';
import {
  datasetOf,
  readBatch,
  refuseWhileErasing,
  type DatasetMonth,
  type Warp10ActivityDeps,
} from './shared.ts';

/**
 * Series a request names: each request walks the dataset's directory once (churn bench: 200,000 series
 * in requests of 20,000 took 20.7 s, most of it those walks).
 */
const SERIES_PER_REQUEST = 100_000;
/** How long after the unregister the purged series are read again for points written meanwhile. */
export const PURGE_GRACE_MS = 2_000;

export interface PurgeResult {
  /** off: the dataset does not purge; done: recorded by an earlier run for this commit. */
  status: 'purged' | 'off' | 'done';
  candidates: number;
  purged: number;
  live: number;
  revived: number;
  attributesChanged: number;
  ambiguous: number;
  outOfReach: number;
  missing: number;
  inProgress: number;
  /** Series the dataset's previous purge left that got a point since: registered again now. */
  revivedLater: number;
}

interface PurgeReply {
  purged: PurgedSeries[];
  live: number;
  revived: string[];
  attributesChanged: string[];
  ambiguous: number;
  outOfReach: number;
  missing: number;
}

/** A series to purge: its selector, its attributes as archived, its owners and producers as recorded. */
type PurgeEntry = [string, Record<string, string>, [string, string][]];

/** Test knobs only: the window between ARCHIVE.PURGE's check and its unregister, and the grace. */
export interface PurgeKnobs {
  pauseMs?: number;
  graceMs?: number;
}

export async function purgeEmptySeries(
  deps: Warp10ActivityDeps,
  input: DatasetMonth,
  knobs: PurgeKnobs = {},
): Promise<PurgeResult> {
  const { config, store } = deps;
  try {
    const dataset = datasetOf(config, input);
    if (!dataset.purgeEmptySeries) return { status: 'off', ...counts(undefined) };
    const manifest = await readJson(store, monthManifestKey(input), MonthManifestSchema);
    if (!manifest) {
      throw nonRetryable(
        'IncompleteMonth',
        `${input.group}/${input.dataset} ${input.month} is not committed: its series keep their metadata until it is`,
      );
    }
    const revision = manifest.revision ?? 1;
    const before = await readJson(store, purgeKey(input), PurgeRecordSchema);
    if (before?.revision === revision && before.complete) return { status: 'done', ...counts(before) };

    // A series also in a month of the dataset being archived now keeps its metadata until that month is
    // committed too (its own purge then decides).
    const others = await otherMonths(deps, input);
    // ARCHIVE.FETCH finds the series of a month whose index does not record owners through FIND, in
    // Warp 10's directory: a purge would hide them.
    if (!manifest.index?.owners) others.withoutOwners.unshift(input.month);
    if (others.withoutOwners.length > 0) {
      const months = others.withoutOwners;
      throw nonRetryable(
        'ConfigError',
        `purgeEmptySeries: ${input.group}/${input.dataset} has months whose index does not record owners ` +
          `(${months.slice(0, 5).join(', ')}${months.length > 5 ? ', …' : ''}): ARCHIVE.FETCH finds their ` +
          "series through Warp 10's directory, which the purge would empty. Nothing was purged; run " +
          `\`npm run reindex -- --group ${input.group} --dataset ${input.dataset}\` first, then rerun the month.`,
      );
    }
    const script = purgeScript(deps, dataset.selector);
    // Who owns each archived series, as the month's index recorded it at commit.
    const owners = await archivedOwners(store, input, manifest.index!);

    // The previous purge's series that got a point since it (an update still storing them then).
    let revivedLater = 0;
    for (const prev of others.previousPurges) {
      const revived = await script.recheck(
        prev.record.purged.map(([, cls, labels, attrs]) => [cls, labels, attrs]),
      );
      revivedLater += revived.length;
      await refuseWhileErasing(store, prev.ref);
      await writeJson(
        store,
        purgeKey(prev.ref),
        { ...prev.record, rechecked: new Date().toISOString(), revivedLater: revived },
        { gzip: true },
      );
    }

    // The month's series with points, with their attributes as archived (a supplement's are the later).
    const series = new Map<string, Record<string, string>>();
    for (const b of manifest.batches) {
      const m = await readBatch(store, input, b.batch);
      if (!m) throw nonRetryable('ArchiveCorrupt', `batch ${b.batch} of ${input.month} has no manifest`);
      for (const s of m.series) if (s.points > 0) series.set(s.selector, s.attributes ?? {});
      for (const sup of m.supplements ?? [])
        for (const s of sup.series) if (s.points > 0) series.set(s.selector, s.attributes ?? {});
      heartbeat({ read: b.batch });
    }
    let held = 0;
    for (const sel of others.inProgress) if (series.delete(sel)) held++;

    // An earlier attempt at this commit that stopped midway: what it purged is recorded, not done again.
    const total: PurgeRecord =
      before?.revision === revision
        ? before
        : {
            format: 'warp10-offloader/purge@1',
            revision,
            purgedAt: '',
            complete: false,
            candidates: series.size,
            purged: [],
            live: 0,
            revived: [],
            attributesChanged: [],
            ambiguous: 0,
            outOfReach: 0,
            missing: 0,
            inProgress: held,
          };
    for (const [sel] of total.purged) series.delete(sel);
    const entries = [...series.entries()].map(
      ([sel, attrs]) => [sel, attrs, owners.get(sel) ?? []] as PurgeEntry,
    );
    for (let i = 0; i < entries.length; i += SERIES_PER_REQUEST) {
      const r = await script.purge(entries.slice(i, i + SERIES_PER_REQUEST), knobs.pauseMs ?? 0);
      total.purged.push(...r.purged);
      total.revived.push(...r.revived);
      total.attributesChanged.push(...r.attributesChanged);
      total.live += r.live;
      total.ambiguous += r.ambiguous;
      total.outOfReach += r.outOfReach;
      total.missing += r.missing;
      // Recorded as it goes: a retry after a crash knows what left the directory.
      await refuseWhileErasing(store, input);
      await writeJson(store, purgeKey(input), total, { gzip: true });
      heartbeat({ purged: total.purged.length });
    }
    // An update registers its series before it stores its points: looked at again after a grace.
    await new Promise((r) => setTimeout(r, knobs.graceMs ?? PURGE_GRACE_MS));
    const late = new Set(
      await script.recheck(total.purged.map(([, cls, labels, attrs]) => [cls, labels, attrs])),
    );
    total.revived.push(...late);
    total.purged = total.purged.filter(([sel]) => !late.has(sel));
    total.purgedAt = new Date().toISOString();
    total.complete = true;
    await refuseWhileErasing(store, input);
    await writeJson(store, purgeKey(input), total, { gzip: true });
    return { status: 'purged', ...counts(total), revivedLater };
  } catch (err) {
    throw toFailure(explained(err));
  }
}

/** What a dry run would purge: the dataset's series with no point outside the month. */
export async function purgeDryRun(
  deps: Warp10ActivityDeps,
  input: DatasetMonth & { startUs: number; endUs: number },
): Promise<number> {
  const dataset = datasetOf(deps.config, input);
  if (!dataset.purgeEmptySeries) return 0;
  try {
    const [r] = await deps.runner.run<[{ purged: string[] }]>(
      'archive-purge',
      {
        ...scriptParams(deps, dataset.selector),
        series: null,
        recheck: null,
        dryRun: true,
        outside: [input.startUs, input.endUs],
        pause: 0,
      },
      cancellationSignal(),
    );
    return r.purged.length;
  } catch (err) {
    throw explained(err);
  }
}

const scriptParams = (
  { tokens }: Warp10ActivityDeps,
  selector: { class: string; labels: Record<string, string> },
) => ({
  readToken: tokens.read,
  writeToken: tokens.write,
  class: selector.class,
  labels: selector.labels,
});

/** ARCHIVE.PURGE's two calls: purge listed series, and recheck what a purge left. */
function purgeScript(deps: Warp10ActivityDeps, selector: { class: string; labels: Record<string, string> }) {
  const base = scriptParams(deps, selector);
  return {
    async purge(series: PurgeEntry[], pause: number): Promise<PurgeReply> {
      const [r] = await deps.runner.run<[PurgeReply]>(
        'archive-purge',
        { ...base, series, recheck: null, dryRun: false, outside: null, pause },
        cancellationSignal(),
      );
      return r;
    },
    async recheck(entries: [string, Record<string, string>, Record<string, string>][]): Promise<string[]> {
      const revived: string[] = [];
      for (let i = 0; i < entries.length; i += SERIES_PER_REQUEST) {
        const [r] = await deps.runner.run<[{ revived: string[] }]>(
          'archive-purge',
          {
            ...base,
            series: [],
            recheck: entries.slice(i, i + SERIES_PER_REQUEST),
            dryRun: false,
            outside: null,
            pause: 0,
          },
          cancellationSignal(),
        );
        revived.push(...r.revived);
        heartbeat({ rechecked: i });
      }
      return revived;
    },
  };
}

/** A Warp 10 without the extension's ARCHIVE.PURGE, or a read token without its capability, says so. */
function explained(err: unknown): unknown {
  if (!(err instanceof WarpScriptError) || !/ARCHIVE\.PURGE|archive\.purge/.test(err.warpMessage)) return err;
  return nonRetryable(
    'ConfigError',
    `purgeEmptySeries needs ARCHIVE.PURGE of warp10-extension/ in Warp 10 and the capability ` +
      `\`.cap:archive.purge\` on the read token (docs/QUERYING.md), or \`purgeEmptySeries: false\` for the ` +
      `dataset; Warp 10 said: ${err.warpMessage}`,
  );
}

function counts(r: PurgeRecord | undefined): Omit<PurgeResult, 'status'> {
  return {
    candidates: r?.candidates ?? 0,
    purged: r?.purged.length ?? 0,
    live: r?.live ?? 0,
    revived: r?.revived.length ?? 0,
    attributesChanged: r?.attributesChanged.length ?? 0,
    ambiguous: r?.ambiguous ?? 0,
    outOfReach: r?.outOfReach ?? 0,
    missing: r?.missing ?? 0,
    inProgress: r?.inProgress ?? 0,
    revivedLater: 0,
  };
}

/** The owners the month's index records, by selector; the index is read whole, checked, and bounded. */
async function archivedOwners(
  store: Warp10ActivityDeps['store'],
  ref: MonthRef,
  index: NonNullable<MonthManifest['index']>,
): Promise<SeriesOwners> {
  let body: Buffer;
  try {
    body = await readMonthIndex(store, ref, index);
  } catch (err) {
    if (err instanceof IndexUnreadable) throw nonRetryable('ArchiveCorrupt', err.message);
    throw err;
  }
  try {
    return indexOwners(body, index);
  } catch (err) {
    throw nonRetryable('ArchiveCorrupt', `${index.key}: ${(err as Error).message}`);
  }
}

/**
 * The dataset's other months: the series of the batches that no commit lists yet (a month being archived,
 * or reopened for late data; whatever their status, since a delete is done before its status says so), the
 * committed months whose index does not record owners, and the earlier purges not rechecked yet.
 */
async function otherMonths(
  { store }: Warp10ActivityDeps,
  ref: MonthRef,
): Promise<{
  inProgress: Set<string>;
  withoutOwners: string[];
  previousPurges: { ref: MonthRef; record: PurgeRecord }[];
}> {
  const prefix = `${ref.group}/${ref.dataset}/`;
  const months = new Map<string, { committed: boolean; purged: boolean; batches: number[] }>();
  for (const o of await store.list(prefix)) {
    const [month, name] = o.key.slice(prefix.length).split('/');
    if (!month || !name || month === ref.month || !/^\d{4}-\d{2}$/.test(month)) continue;
    const m = months.get(month) ?? { committed: false, purged: false, batches: [] };
    months.set(month, m);
    if (name === 'manifest.json') m.committed = true;
    if (name === 'purge.json') m.purged = true;
    const b = batchOfKey(o.key);
    if (b !== undefined && name.endsWith('.json')) m.batches.push(b);
  }
  const inProgress = new Set<string>();
  const withoutOwners: string[] = [];
  const previousPurges: { ref: MonthRef; record: PurgeRecord }[] = [];
  for (const [month, m] of [...months].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const other = { ...ref, month };
    let known = 0;
    if (m.committed) {
      const done = await readJson(store, monthManifestKey(other), MonthManifestSchema);
      known = done?.batches.length ?? 0;
      if (done && !done.index?.owners) withoutOwners.push(month);
    }
    for (const b of m.batches) {
      if (b <= known) continue;
      const bm = await readBatch(store, other, b);
      for (const s of bm?.series ?? []) inProgress.add(s.selector);
      for (const sup of bm?.supplements ?? []) for (const s of sup.series) inProgress.add(s.selector);
    }
    if (m.purged && month < ref.month) {
      const record = await readJson(store, purgeKey(other), PurgeRecordSchema);
      if (record?.complete && !record.rechecked) previousPurges.push({ ref: other, record });
    }
  }
  return { inProgress, withoutOwners, previousPurges };
}
