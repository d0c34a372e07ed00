// Purge: after a month is committed, the series it archived that hold no point left in Warp 10 at all
// lose their metadata (ARCHIVE.PURGE, archive-purge.mc2), so that the hot directory keeps live series only.
// No point is deleted here; what leaves is recorded in the month's purge.json.
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { batchOfKey, monthManifestKey, purgeKey, type MonthRef } from '../../archive/layout.ts';
import { MonthManifestSchema, PurgeRecordSchema, type PurgeRecord } from '../../archive/manifest.ts';
import { WarpScriptError } from '../../warp10/client.ts';
import { nonRetryable, toFailure } from '../failures.ts';
import { readJson, writeJson } from '../store-json.ts';
import { datasetOf, readBatch, type DatasetMonth, type Warp10ActivityDeps } from './shared.ts';

/** Series a request names: ARCHIVE.PURGE reads the store 1,000 at a time and waits `grace` once a request. */
const SERIES_PER_REQUEST = 20_000;
/** How long after the unregister ARCHIVE.PURGE looks again for points written meanwhile. */
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
}

interface PurgeReply {
  purged: string[];
  live: number;
  revived: string[];
  attributesChanged: string[];
  ambiguous: number;
  outOfReach: number;
  missing: number;
}

/** Test knob only: how long ARCHIVE.PURGE waits between its check and its unregister. */
export interface PurgeKnobs {
  pauseMs?: number;
  graceMs?: number;
}

export async function purgeEmptySeries(
  deps: Warp10ActivityDeps,
  input: DatasetMonth,
  knobs: PurgeKnobs = {},
): Promise<PurgeResult> {
  const { config, store, runner, tokens } = deps;
  const none = { candidates: 0, purged: 0, live: 0, revived: 0, attributesChanged: 0 };
  const zero = { ...none, ambiguous: 0, outOfReach: 0, missing: 0, inProgress: 0 };
  try {
    const dataset = datasetOf(config, input);
    if (!dataset.purgeEmptySeries) return { status: 'off', ...zero };
    const manifest = await readJson(store, monthManifestKey(input), MonthManifestSchema);
    if (!manifest) {
      throw nonRetryable(
        'IncompleteMonth',
        `${input.group}/${input.dataset} ${input.month} is not committed: its series keep their metadata until it is`,
      );
    }
    const revision = manifest.revision ?? 1;
    const before = await readJson(store, purgeKey(input), PurgeRecordSchema);
    if (before && before.revision === revision) return { status: 'done', ...counts(before) };

    // The month's series with their attributes as archived (a supplement's are the later ones).
    const series = new Map<string, Record<string, string>>();
    for (const b of manifest.batches) {
      const m = await readBatch(store, input, b.batch);
      if (!m) throw nonRetryable('ArchiveCorrupt', `batch ${b.batch} of ${input.month} has no manifest`);
      for (const s of m.series) series.set(s.selector, s.attributes ?? {});
      for (const sup of m.supplements ?? [])
        for (const s of sup.series) series.set(s.selector, s.attributes ?? {});
      heartbeat({ read: b.batch });
    }
    // A series also in a month of the dataset being archived now keeps its metadata until that month
    // is committed too (its own purge then decides).
    const inProgress = await seriesOfUncommittedMonths(deps, input);
    let held = 0;
    for (const sel of inProgress) if (series.delete(sel)) held++;

    const total: PurgeRecord = {
      format: 'warp10-offloader/purge@1',
      revision,
      purgedAt: '',
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
    const entries = [...series.entries()];
    for (let i = 0; i < entries.length; i += SERIES_PER_REQUEST) {
      const [r] = await runner.run<[PurgeReply]>(
        'archive-purge',
        {
          readToken: tokens.read,
          writeToken: tokens.write,
          class: dataset.selector.class,
          labels: dataset.selector.labels,
          series: entries.slice(i, i + SERIES_PER_REQUEST),
          dryRun: false,
          outside: null,
          grace: knobs.graceMs ?? PURGE_GRACE_MS,
          pause: knobs.pauseMs ?? 0,
        },
        cancellationSignal(),
      );
      total.purged.push(...r.purged);
      total.revived.push(...r.revived);
      total.attributesChanged.push(...r.attributesChanged);
      total.live += r.live;
      total.ambiguous += r.ambiguous;
      total.outOfReach += r.outOfReach;
      total.missing += r.missing;
      heartbeat({ purged: total.purged.length });
    }
    total.purgedAt = new Date().toISOString();
    await writeJson(store, purgeKey(input), total, { gzip: true });
    return { status: 'purged', ...counts(total) };
  } catch (err) {
    throw toFailure(explained(err));
  }
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

/** What a dry run would purge: the dataset's series with no point outside the month. */
export async function purgeDryRun(
  deps: Warp10ActivityDeps,
  input: DatasetMonth & { startUs: number; endUs: number },
): Promise<number> {
  const dataset = datasetOf(deps.config, input);
  if (!dataset.purgeEmptySeries) return 0;
  let r: PurgeReply;
  try {
    [r] = await deps.runner.run<[PurgeReply]>(
      'archive-purge',
      {
        readToken: deps.tokens.read,
        writeToken: deps.tokens.write,
        class: dataset.selector.class,
        labels: dataset.selector.labels,
        series: null,
        dryRun: true,
        outside: [input.startUs, input.endUs],
        grace: 0,
        pause: 0,
      },
      cancellationSignal(),
    );
  } catch (err) {
    throw explained(err);
  }
  return r.purged.length;
}

function counts(r: PurgeRecord): Omit<PurgeResult, 'status'> {
  return {
    candidates: r.candidates,
    purged: r.purged.length,
    live: r.live,
    revived: r.revived.length,
    attributesChanged: r.attributesChanged.length,
    ambiguous: r.ambiguous,
    outOfReach: r.outOfReach,
    missing: r.missing,
    inProgress: r.inProgress,
  };
}

/** Series of deleted batches of the dataset's other months that no commit lists yet (being archived). */
async function seriesOfUncommittedMonths({ store }: Warp10ActivityDeps, ref: MonthRef): Promise<Set<string>> {
  const prefix = `${ref.group}/${ref.dataset}/`;
  const months = new Map<string, { committed: boolean; batches: number[] }>();
  for (const o of await store.list(prefix)) {
    const [month, name] = o.key.slice(prefix.length).split('/');
    if (!month || !name || month === ref.month || !/^\d{4}-\d{2}$/.test(month)) continue;
    const m = months.get(month) ?? { committed: false, batches: [] };
    months.set(month, m);
    if (name === 'manifest.json') m.committed = true;
    const b = batchOfKey(o.key);
    if (b !== undefined && name.endsWith('.json')) m.batches.push(b);
  }
  const out = new Set<string>();
  for (const [month, m] of months) {
    // A committed month reopened for late data: its batches past the commit are not committed yet.
    let known = 0;
    if (m.committed) {
      const done = await readJson(store, monthManifestKey({ ...ref, month }), MonthManifestSchema);
      known = done?.batches.length ?? 0;
    }
    for (const b of m.batches) {
      if (b <= known) continue;
      const bm = await readBatch(store, { ...ref, month }, b);
      if (bm?.status !== 'deleted') continue;
      for (const s of bm.series) out.add(s.selector);
      for (const sup of bm.supplements ?? []) for (const s of sup.series) out.add(s.selector);
    }
  }
  return out;
}
