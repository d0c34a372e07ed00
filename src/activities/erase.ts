// Activities of an erasure (npm run erase): remove every series a selector matches from archived months.
// Per month, under a journal (erase.json) that makes the archive's writes into the month wait:
//   1. which series go: every series the month names (batch manifests, plan, purge record), matched by
//      Warp 10's own selector matcher (erase-match.mc2), never by the worker;
//   2. the objects holding them rewritten (src/archive/erase-rewrite.ts: other members byte for byte),
//      written under new content-named keys and checked before anything names them;
//   3. the batch manifests, plan, purge record, then the month's index and manifest.json (one revision
//      more): restore and verify-archive read the new month from here;
//   4. once the catalog lists the new revision (ARCHIVE.FETCH's commit point, asked by the workflow), the
//      replaced objects are deleted, then the journal.
// A rerun after a crash at any point carries on from the journal and the store: new objects are named by
// their content, a batch already rewritten holds no erased series, counts are fixed in the journal.
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { activityInfo, getClient, heartbeat } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DatasetCatalogSchema } from '../archive/catalog.ts';
import { isListed, readCatalog } from '../archive/catalog-store.ts';
import { EraseCorruptError, rewriteObject, selectorKey } from '../archive/erase-rewrite.ts';
import {
  BATCH_OBJECT_NAME,
  batchManifestKey,
  eraseJournalKey,
  erasedObjectKey,
  erasureRecordKey,
  failureKey,
  monthManifestKey,
  monthPrefix,
  purgeKey,
  type MonthRef,
} from '../archive/layout.ts';
import {
  BatchManifestSchema,
  EraseJournalSchema,
  ErasureRecordSchema,
  MonthManifestSchema,
  PurgeRecordSchema,
  type BatchManifest,
  type EraseJournal,
  type ErasureRecord,
  type MonthManifest,
  type PlanBatch,
  type SeriesEntry,
  type Supplement,
} from '../archive/manifest.ts';
import {
  IndexUnreadable,
  buildMonthIndex,
  indexOwners,
  readMonthIndex,
  monthIndexKey,
  type SeriesOwners,
} from '../archive/month-index.ts';
import { summarizeBatches } from '../archive/month-summary.ts';
import { parseSeriesName, SelectorError } from '../archive/series-name.ts';
import { parseSelector } from '../restore/selector.ts';
import { NotFoundError, type ArchiveStore } from '../store/types.ts';
import { WarpScriptError } from '../warp10/client.ts';
import type { WarpScriptRunner } from '../warp10/runner.ts';
import { nonRetryable, toFailure } from './failures.ts';
import { keepAlive } from './keep-alive.ts';
import { readPlanBatch, readPlanHead, writePlan } from './plan-store.ts';
import { readJson, writeJson } from './store-json.ts';

/** How long an erasure waits after opening its journal (an archive write that checked just before lands). */
export const ERASE_GRACE_MS = 2_000;
/** Archived series sent to Warp 10's matcher a request: far under warpscript.maxops' default. */
const MATCH_CHUNK = 2_000;

export interface EraseRequest {
  /** A Warp 10 selector: `class{label=value,label~regex}`. */
  selector: string;
  /** First and last month (YYYY-MM), both included; absent: every archived month. */
  from?: string;
  to?: string;
  dryRun?: boolean;
  /** Also delete the series from the hot Warp 10 (data and metadata). */
  hot?: boolean;
}

/**
 * A selector an erasure takes: Warp 10's syntax, and no `.owner`/`.producer` (the archive does not match
 * them: the hot Warp 10 would lose series the archive keeps). Throws SelectorError saying what is wrong.
 */
export function checkEraseSelector(selector: string): void {
  const sel = parseSelector(selector);
  const hidden = sel.labels.map(([n]) => n).find((n) => n === '.owner' || n === '.producer');
  if (hidden) {
    throw new SelectorError(
      `${hidden} cannot select series to erase (the archive matches class, labels and attributes): select by class and labels instead`,
    );
  }
}

export interface EraseScope {
  months: MonthRef[];
  /** Months with a plan but no manifest.json: their archive run is unfinished; not erased (rerun after it). */
  uncommitted: MonthRef[];
}

export interface EraseMonthInput extends MonthRef {
  selector: string;
  dryRun: boolean;
  /** The erasure's ID (its run), recorded in what it rewrites. */
  id: string;
}

export type EraseMonthStatus = 'erased' | 'nothing' | 'would erase' | 'not committed';

export interface EraseMonthResult extends MonthRef {
  status: EraseMonthStatus;
  series: number;
  points: number;
  /** Objects rewritten (or that would be). */
  objects: number;
  batches: number;
  /**
   * Store bytes: of the gzip members holding erased series (read and rewritten), of the new objects
   * (written, copies included), and of the members copied byte for byte (read and written again).
   */
  bytesRead: number;
  bytesWritten: number;
  bytesCopied: number;
  /** Manifests, plan pages and the like read to find the series. */
  metadataRead: number;
}

/** What a month's erasure wrote before its month changed: undone when it fails for good. */
interface Undo {
  journal?: MonthRef;
  keys: string[];
}

export interface FinishResult {
  deleted: number;
}

interface Deps {
  store: ArchiveStore;
  runner: WarpScriptRunner;
  /** The key of the erasure record's selector HMAC (erasure.recordKey, else the write token). */
  recordKey: () => string;
  graceMs?: number;
  /** Tests: called at each step of a month's erasure; throwing there is a crash at that point. */
  step?: (name: EraseStep) => void;
}

export type EraseStep =
  'opened' | 'objects' | 'written' | 'manifests' | 'scrubbed' | 'committed' | 'replaced';

export function createEraseActivities(deps: Deps) {
  const { store, runner } = deps;
  const grace = deps.graceMs ?? ERASE_GRACE_MS;
  const step = (s: EraseStep) => deps.step?.(s);
  const hmac = (selector: string) => createHmac('sha256', deps.recordKey()).update(selector).digest('hex');

  /** The selectors of `candidates` (selector, attributes) that `selector` selects, asked of Warp 10. */
  async function matching(
    selector: string,
    candidates: [string, Record<string, string>][],
  ): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < candidates.length; i += MATCH_CHUNK) {
      const chunk = candidates.slice(i, i + MATCH_CHUNK);
      let flags: boolean[];
      try {
        [flags] = await runner.run<[boolean[]]>('erase-match', { selector, series: chunk });
      } catch (err) {
        if (err instanceof WarpScriptError) {
          throw nonRetryable(
            'InvalidInput',
            `Warp 10 refuses the selector ${JSON.stringify(selector)}: ${err.warpMessage}`,
          );
        }
        throw err;
      }
      if (!Array.isArray(flags) || flags.length !== chunk.length) {
        throw new Error(
          `erase-match answered ${Array.isArray(flags) ? flags.length : 'no'} flags for ${chunk.length} series`,
        );
      }
      chunk.forEach(([s], j) => flags[j] === true && out.add(s));
      beat({ matched: i + chunk.length });
    }
    return out;
  }

  async function scope(req: EraseRequest): Promise<EraseScope> {
    try {
      checkEraseSelector(req.selector);
    } catch (err) {
      if (err instanceof SelectorError) throw nonRetryable('InvalidInput', err.message);
      throw err;
    }
    // Warp 10's matcher must accept it too (its syntax is the reference): one made-up series.
    await matching(req.selector, [['erase.check{}', {}]]);
    const inRange = (m: string) => (!req.from || m >= req.from) && (!req.to || m <= req.to);
    const committed = new Set<string>();
    const planned = new Map<string, MonthRef>();
    for (const o of await store.list('')) {
      const m = /^([^/]+)\/([^/]+)\/(\d{4}-\d{2})\/(manifest|plan)\.json$/.exec(o.key);
      if (!m || !inRange(m[3]!)) continue;
      const ref = { group: m[1]!, dataset: m[2]!, month: m[3]! };
      if (m[4] === 'manifest') committed.add(monthPrefix(ref));
      else planned.set(monthPrefix(ref), ref);
    }
    const months = [...planned.values()].filter((r) => committed.has(monthPrefix(r)));
    const uncommitted = [...planned.values()].filter((r) => !committed.has(monthPrefix(r)));
    // A committed month always has its plan; one without (written by hand) is erased too.
    for (const p of committed) {
      if (!planned.has(p)) {
        const [group, dataset, month] = p.split('/') as [string, string, string];
        months.push({ group, dataset, month });
      }
    }
    const key = (r: MonthRef) => monthPrefix(r);
    months.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    return { months, uncommitted };
  }

  /**
   * The journal of another run: waited for while that erasure runs; taken over when it is gone (a run of
   * the same workflow ID, or one that ended without closing it: its work is carried on, never redone).
   */
  async function adopt(journal: EraseJournal, ref: MonthRef, run: { workflowId: string }): Promise<void> {
    if (journal.workflowId === run.workflowId) return;
    try {
      const d = await getClient().workflow.getHandle(journal.workflowId).describe();
      if (d.status.name === 'RUNNING') {
        throw ApplicationFailure.retryable(
          `${eraseJournalKey(ref)}: another erasure (${journal.workflowId}) holds the month; this one waits for it`,
          'MonthBeingErased',
        );
      }
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }

  async function eraseMonth(
    input: EraseMonthInput,
    run: { workflowId: string; runId: string },
    undo: Undo,
  ): Promise<EraseMonthResult> {
    const ref: MonthRef = { group: input.group, dataset: input.dataset, month: input.month };
    const result: EraseMonthResult = {
      ...ref,
      status: 'nothing',
      series: 0,
      points: 0,
      objects: 0,
      batches: 0,
      bytesRead: 0,
      bytesWritten: 0,
      bytesCopied: 0,
      metadataRead: 0,
    };
    const fromJournal = (j: EraseJournal, status: EraseMonthStatus): EraseMonthResult => ({
      ...result,
      status,
      series: j.batches.reduce((n, b) => n + b.series, 0),
      points: j.batches.reduce((n, b) => n + b.points, 0),
      objects: j.batches.reduce((n, b) => n + b.objects, 0),
      batches: j.batches.length,
    });
    // A dataset of one exact class other than the selector's holds none of its series: not even read.
    const wanted = parseSelector(input.selector);
    const planClass = (await readPlanHead(store, ref))?.selector.class;
    if (
      'exact' in wanted.cls &&
      planClass !== undefined &&
      !/^[~=]/.test(planClass) &&
      planClass !== wanted.cls.exact
    ) {
      return result;
    }
    const selectorHmac = hmac(input.selector);
    // A dry run reads the month as it is, whatever erasure is under way in it.
    let journal = input.dryRun ? undefined : await readJson(store, eraseJournalKey(ref), EraseJournalSchema);
    if (journal && journal.runId !== run.runId) await adopt(journal, ref, run);
    if (journal && journal.selectorHmac !== selectorHmac) {
      if (journal.phase !== 'open') {
        throw nonRetryable(
          'InvalidInput',
          `${eraseJournalKey(ref)}: an erasure of another selector (${journal.workflowId}) stopped in this month at phase ${journal.phase}: run that erasure again to finish it, then this one`,
        );
      }
      journal = undefined; // it changed nothing yet: this one takes the month
    }
    const first = await readJson(store, monthManifestKey(ref), MonthManifestSchema);
    if (!first) return { ...result, status: 'not committed' };
    if (journal?.phase === 'committed') return fromJournal(journal, 'erased');
    const at = () => new Date().toISOString();
    if (!journal && !input.dryRun) {
      journal = {
        format: 'warp10-offloader/erase-journal@1',
        id: input.id,
        workflowId: run.workflowId,
        runId: run.runId,
        selectorHmac,
        openedAt: at(),
        phase: 'open',
        replaced: [],
        batches: [],
        revision: first.revision ?? 1,
      };
      await writeJournal(ref, journal);
      undo.journal = ref;
      step('opened');
      // An archive write (or another erasure) that looked for the journal just before it was written
      // lands before we read on; of two erasures that wrote one at once, the last one written holds it.
      await sleep(grace);
    }
    if (journal) {
      await holding(ref, journal);
      if (journal.runId !== run.runId) {
        // Taken over from a run that is gone: this run holds it from now on.
        Object.assign(journal, { workflowId: run.workflowId, runId: run.runId });
        await writeJournal(ref, journal);
      }
    }
    // Read after the journal and its grace: what an archive commit wrote meanwhile is in it.
    const manifest = (await readJson(store, monthManifestKey(ref), MonthManifestSchema)) ?? first;
    if (journal) {
      const last = manifest.erasures?.at(-1);
      if (last?.id === journal.id && (manifest.revision ?? 1) === journal.revision + 1) {
        // This erasure committed the month, then stopped before saying so in its journal.
        journal.phase = 'committed';
        await writeJournal(ref, journal);
        return fromJournal(journal, 'erased');
      }
      if (journal.phase === 'open') journal.revision = manifest.revision ?? 1;
    }

    // 1. Every series the month names, and which of them the selector selects (Warp 10 decides).
    const manifests: BatchManifest[] = [];
    for (const b of manifest.batches) {
      const bm = await readJson(store, batchManifestKey(ref, b.batch), BatchManifestSchema);
      if (!bm)
        throw nonRetryable(
          'ArchiveCorrupt',
          `${batchManifestKey(ref, b.batch)} is missing: run npm run verify-archive`,
        );
      // Only the batch's own objects, under the month's prefix: a manifest cannot send a read or a write
      // anywhere else in (or out of) the store.
      const own = (key: string) =>
        key.startsWith(monthPrefix(ref)) &&
        BATCH_OBJECT_NAME.exec(key.slice(monthPrefix(ref).length))?.[1] === String(b.batch).padStart(5, '0');
      const keys = [bm.object.key, ...(bm.supplements ?? []).map((x) => x.object.key)];
      if (bm.batch !== b.batch || !keys.every(own)) {
        throw nonRetryable(
          'ArchiveCorrupt',
          `${batchManifestKey(ref, b.batch)} names an object that is not one of batch ${b.batch}'s: run npm run verify-archive`,
        );
      }
      manifests.push(bm);
      result.metadataRead += (await store.head(batchManifestKey(ref, b.batch)))?.bytes ?? 0;
    }
    const plan = await readPlanHead(store, ref);
    const planBatches: PlanBatch[] = [];
    if (plan) {
      for (let b = 1; b <= plan.batchCount; b++) planBatches.push(await readPlanBatch(store, plan, ref, b));
    }
    // An archive run of the month under way (late data: batches planned, not all deleted yet): the
    // erasure waits for its commit, so that no batch of the month escapes it.
    const busy =
      (plan !== undefined && plan.batchCount !== manifest.batches.length) ||
      manifests.some((m) => m.status !== 'deleted');
    if (busy && !input.dryRun) {
      if (journal?.phase === 'open') await store.delete(eraseJournalKey(ref));
      throw ApplicationFailure.retryable(
        `${monthPrefix(ref)} is being archived (its plan has ${plan?.batchCount} batch(es), manifest.json ${manifest.batches.length}, or a batch is not deleted yet): the erasure waits for its commit`,
        'MonthBeingArchived',
      );
    }
    const purge = await readJson(store, purgeKey(ref), PurgeRecordSchema);
    const candidates = new Map<string, [string, Record<string, string>]>();
    const add = (selector: string, attributes: Record<string, string> | undefined) => {
      const a = attributes ?? {};
      candidates.set(`${selector}\u0000${JSON.stringify(a)}`, [selector, a]);
    };
    for (const bm of manifests) {
      for (const s of bm.series) add(s.selector, s.attributes);
      for (const x of bm.supplements ?? [])
        for (const s of [...x.series, ...x.live]) add(s.selector, s.attributes);
    }
    for (const pb of planBatches) if (Array.isArray(pb)) for (const s of pb) add(s, undefined);
    for (const [s, , , attributes] of purge?.purged ?? []) add(s, attributes);
    for (const s of [
      ...(purge?.revived ?? []),
      ...(purge?.attributesChanged ?? []),
      ...(purge?.revivedLater ?? []),
    ])
      add(s, undefined);
    // Necessary conditions checked here, as plain string comparisons (no regex): the class when exact,
    // and each exact label value, held by a label or an attribute of that name (Warp 10's selectors match
    // attributes too). Only the candidates left go to Warp 10's matcher, which decides.
    const exactPairs = wanted.labels.flatMap(([n, m]) =>
      'exact' in m && m.exact !== '' ? [[n, m.exact]] : [],
    );
    const list = [...candidates.values()].filter(([s, attributes]) => {
      try {
        const name = parseSeriesName(s);
        if ('exact' in wanted.cls && name.cls !== wanted.cls.exact) return false;
        return exactPairs.every(([n, v]) => name.labels[n!] === v || attributes[n!] === v);
      } catch {
        return true;
      }
    });
    const matched = await matching(input.selector, list);
    const keys = new Set<string>();
    for (const s of matched) {
      try {
        keys.add(selectorKey(s));
      } catch {
        throw nonRetryable(
          'ArchiveCorrupt',
          `${monthPrefix(ref)}: the archive names a series ${JSON.stringify(s)} that is not a selector`,
        );
      }
    }
    const erased = (selector: string) => {
      try {
        return keys.has(selectorKey(selector));
      } catch {
        return false;
      }
    };

    // 2. The batches that name an erased series: new objects, written and checked; new manifests held.
    const mark = { id: journal?.id ?? input.id, erasedAt: journal?.openedAt ?? at() };
    const rewritten: { before: BatchManifest; after: BatchManifest }[] = [];
    const counts: EraseJournal['batches'] = [];
    const replaced: string[] = [];
    for (const bm of manifests) {
      const names = (x: { series: SeriesEntry[]; live?: SeriesEntry[] }) =>
        x.series.some((s) => erased(s.selector)) || (x.live ?? []).some((s) => erased(s.selector));
      if (!names(bm) && !(bm.supplements ?? []).some(names)) continue;
      const goneSeries = new Set<string>();
      for (const s of [bm, ...(bm.supplements ?? [])].flatMap((x) => x.series)) {
        if (erased(s.selector)) goneSeries.add(s.selector);
      }
      let objects = 0;
      const renew = async (object: BatchManifest['object'], series: SeriesEntry[]) => {
        if (input.dryRun) {
          const gone = series.filter((s) => erased(s.selector));
          if (gone.some((s) => s.points > 0)) {
            objects++;
            result.bytesRead += object.bytes;
          }
          return {
            object,
            series: series.filter((s) => !erased(s.selector)),
            points: gone.reduce((n, s) => n + s.points, 0),
            rewritten: gone.reduce((n, s) => n + (s.rewritten ?? 0), 0),
          };
        }
        const gone = series.filter((s) => erased(s.selector));
        const rewrittenTicks = gone.reduce((n, s) => n + (s.rewritten ?? 0), 0);
        let r;
        try {
          r = await rewriteObject(store, object, series, keys);
        } catch (err) {
          if (err instanceof EraseCorruptError)
            throw nonRetryable(
              'ArchiveCorrupt',
              `${err.message}: nothing was erased from ${monthPrefix(ref)}; run npm run verify-archive`,
            );
          if (err instanceof NotFoundError)
            throw nonRetryable(
              'ArchiveCorrupt',
              `${object.key} is missing: nothing was erased from ${monthPrefix(ref)}; run npm run verify-archive`,
            );
          throw err;
        }
        if (!r)
          return {
            object,
            series: series.filter((s) => !erased(s.selector)),
            points: 0,
            rewritten: rewrittenTicks,
          };
        objects++;
        result.bytesRead += r.rewrittenBytes;
        result.bytesCopied += r.copiedBytes;
        const key = erasedObjectKey(object.key, r.sha256);
        undo.keys.push(key);
        const put = await store.put(key, r.body, { contentType: 'application/gzip' });
        const head = await store.head(key);
        if (put.sha256 !== r.sha256 || put.bytes !== r.body.length || head?.bytes !== r.body.length) {
          throw ApplicationFailure.retryable(
            `${key} was not stored as written (size or SHA-256 differ)`,
            'StoreMismatch',
          );
        }
        result.bytesWritten += r.body.length;
        replaced.push(object.key);
        beat({ batch: bm.batch, object: key });
        return {
          object: { key, bytes: r.body.length, sha256: r.sha256, members: r.members },
          series: r.series,
          points: r.erased.points,
          rewritten: rewrittenTicks,
        };
      };
      const exp = await renew(bm.object, bm.series);
      const supplements: Supplement[] = [];
      let points = exp.points;
      for (const x of bm.supplements ?? []) {
        const s = await renew(x.object, x.series);
        points += s.points - s.rewritten;
        const { digest: _d, wrap: _w, ...rest } = x;
        const rewrittenLeft = (x.rewritten ?? 0) - s.rewritten;
        const { rewritten: _r, ...base } = rest;
        supplements.push({
          ...base,
          object: s.object,
          series: s.series,
          points: x.points - s.points,
          ...(rewrittenLeft > 0 ? { rewritten: rewrittenLeft } : {}),
          live: x.live.filter((e) => !erased(e.selector)),
        });
      }
      const { partition, supplements: _s, ...head } = bm;
      const after: BatchManifest = {
        ...head,
        object: exp.object,
        series: exp.series,
        points: bm.points - exp.points,
        // Digests of the whole batch no longer describe it: a reopened batch is compared by counts and hashes.
        ...(partition ? { partition: { selector: partition.selector } } : {}),
        ...(bm.supplements ? { supplements } : {}),
        erasures: [...(bm.erasures ?? []), { ...mark, series: goneSeries.size, points }],
      };
      rewritten.push({ before: bm, after });
      counts.push({ batch: bm.batch, series: goneSeries.size, points, objects });
    }
    step('objects');
    const totals = {
      series: counts.reduce((n, b) => n + b.series, 0),
      points: counts.reduce((n, b) => n + b.points, 0),
      objects: counts.reduce((n, b) => n + b.objects, 0),
    };
    if (input.dryRun) {
      return {
        ...result,
        ...totals,
        batches: counts.length,
        status: counts.length > 0 ? 'would erase' : 'nothing',
      };
    }
    if (!journal) throw new Error('unreachable: no journal outside a dry run');
    // Counts fixed once: a rerun finds the batches already rewritten without their erased series.
    const known = new Set(journal.batches.map((b) => b.batch));
    journal.batches = [...journal.batches, ...counts.filter((c) => !known.has(c.batch))].sort(
      (a, b) => a.batch - b.batch,
    );
    journal.replaced = [...new Set([...journal.replaced, ...replaced])];
    if (journal.batches.length === 0) {
      // Nothing of the selector in the month: the journal goes, nothing else changed.
      await store.delete(eraseJournalKey(ref));
      return { ...result, status: 'nothing' };
    }
    journal.phase = 'written';
    await writeJournal(ref, journal);
    // From here on the month is half changed: only a run again finishes it, nothing is undone.
    undo.journal = undefined;
    step('written');

    // 3. Batch manifests (each one only if nobody wrote it since it was read), then the month.
    await holding(ref, journal);
    for (const { before, after } of rewritten) {
      const now = await readJson(store, batchManifestKey(ref, before.batch), BatchManifestSchema);
      if (JSON.stringify(now) !== JSON.stringify(before)) {
        throw ApplicationFailure.retryable(
          `${batchManifestKey(ref, before.batch)} changed while it was erased: erase again`,
          'ChangedMeanwhile',
        );
      }
      await writeJson(store, batchManifestKey(ref, before.batch), after, { gzip: true });
    }
    step('manifests');
    if (plan) {
      const kept = planBatches.map((b) => (Array.isArray(b) ? b.filter((s) => !erased(s)) : b));
      if (kept.some((b, i) => Array.isArray(b) && b.length !== (planBatches[i] as string[]).length)) {
        const { batches: _b, batchCount: _c, series: _s, batchesPerPage: _p, ...head } = plan;
        await writePlan(store, ref, head, kept);
      }
    }
    if (purge) {
      const next = {
        ...purge,
        // The purge of the commit before follows this one: a rerun of the month must not take it as stale.
        revision: purge.revision === journal.revision ? journal.revision + 1 : purge.revision,
        purged: purge.purged.filter(([s]) => !erased(s)),
        revived: purge.revived.filter((s) => !erased(s)),
        attributesChanged: purge.attributesChanged.filter((s) => !erased(s)),
        ...(purge.revivedLater ? { revivedLater: purge.revivedLater.filter((s) => !erased(s)) } : {}),
      };
      if (JSON.stringify(next) !== JSON.stringify(purge))
        await writeJson(store, purgeKey(ref), next, { gzip: true });
    }
    await scrubFailure(ref, matched);
    step('scrubbed');

    const byBatch = new Map(rewritten.map((r) => [r.after.batch, r.after]));
    const all = manifests.map((m) => byBatch.get(m.batch) ?? m);
    const index = await rebuildIndex(ref, manifest, all);
    const summary = summarizeBatches(all);
    const monthMark = { ...mark, series: result.series, points: 0 };
    const next: MonthManifest = {
      ...manifest,
      batches: summary.batches,
      series: summary.series,
      points: summary.points,
      bytes: summary.bytes,
      revision: (manifest.revision ?? 1) + 1,
      index,
      erasures: [
        ...(manifest.erasures ?? []),
        {
          ...monthMark,
          series: journal.batches.reduce((n, b) => n + b.series, 0),
          points: journal.batches.reduce((n, b) => n + b.points, 0),
        },
      ],
    };
    await holding(ref, journal);
    const now = await readJson(store, monthManifestKey(ref), MonthManifestSchema);
    if ((now?.revision ?? 1) !== journal.revision) {
      throw nonRetryable(
        'ArchiveCorrupt',
        `${monthManifestKey(ref)} changed while the month was erased (revision ${now?.revision ?? 1}, expected ${journal.revision}): run npm run verify-archive, then erase again`,
      );
    }
    await writeJson(store, monthManifestKey(ref), next);
    journal.phase = 'committed';
    await writeJournal(ref, journal);
    step('committed');
    return {
      ...fromJournal(journal, 'erased'),
      bytesRead: result.bytesRead,
      bytesWritten: result.bytesWritten,
      bytesCopied: result.bytesCopied,
      metadataRead: result.metadataRead,
    };
  }

  /** The month's journal is still this erasure's: else another one holds the month, and this one waits. */
  async function holding(ref: MonthRef, j: EraseJournal): Promise<void> {
    const now = await readJson(store, eraseJournalKey(ref), EraseJournalSchema);
    if (now?.runId !== j.runId || now.selectorHmac !== j.selectorHmac) {
      throw ApplicationFailure.retryable(
        `${eraseJournalKey(ref)}: another erasure holds the month now; this one waits for it`,
        'MonthBeingErased',
      );
    }
  }

  async function writeJournal(ref: MonthRef, j: EraseJournal) {
    await writeJson(store, eraseJournalKey(ref), j);
  }

  /** The month's index from its new batch manifests, owners as the former index recorded them. */
  async function rebuildIndex(
    ref: MonthRef,
    manifest: MonthManifest,
    all: BatchManifest[],
  ): Promise<MonthManifest['index']> {
    let owners: SeriesOwners | undefined;
    if (manifest.index && manifest.index.key !== monthIndexKey(monthPrefix(ref), manifest.index.sha256)) {
      throw nonRetryable(
        'ArchiveCorrupt',
        `${monthManifestKey(ref)} names an index object outside the month`,
      );
    }
    if (manifest.index?.owners) {
      const body = await readMonthIndex(store, ref, manifest.index).catch((err: unknown) => {
        if (err instanceof IndexUnreadable)
          throw nonRetryable('ArchiveCorrupt', `${err.message}; run npm run verify-archive`);
        throw err;
      });
      try {
        owners = indexOwners(body, manifest.index);
      } catch (err) {
        throw nonRetryable(
          'ArchiveCorrupt',
          `${manifest.index.key}: ${(err as Error).message}; run npm run verify-archive`,
        );
      }
    }
    const built = buildMonthIndex(all, manifest.range, owners);
    const key = monthIndexKey(monthPrefix(ref), built.ref.sha256);
    await store.put(key, built.body);
    return { key, ...built.ref, owners: owners !== undefined };
  }

  /** failure.json may quote a series in an error message: the erased ones are named no more. */
  async function scrubFailure(ref: MonthRef, matched: Set<string>) {
    let text: string;
    try {
      text = await store.getText(failureKey(ref));
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
    let next = text;
    for (const s of matched) next = next.split(s).join('(an erased series)');
    if (next !== text) await store.put(failureKey(ref), next, { contentType: 'application/json' });
  }

  async function finishMonth(ref: MonthRef): Promise<FinishResult> {
    const journal = await readJson(store, eraseJournalKey(ref), EraseJournalSchema);
    if (!journal) return { deleted: 0 };
    if (journal.phase !== 'committed') {
      throw nonRetryable(
        'ArchiveCorrupt',
        `${eraseJournalKey(ref)} is at phase ${journal.phase}: the month's erasure has not committed`,
      );
    }
    const manifest = await readJson(store, monthManifestKey(ref), MonthManifestSchema);
    if (!manifest) throw nonRetryable('ArchiveCorrupt', `${monthManifestKey(ref)} is gone`);
    // ARCHIVE.FETCH finds the month through the catalog: not one object it may still send a reader to goes.
    if ((await readCatalog(store)) && !(await isListed(store, ref))) {
      throw ApplicationFailure.retryable(
        `the catalog does not list ${monthPrefix(ref)} at its erased revision yet`,
        'CatalogBehind',
      );
    }
    await sleep(grace);
    let deleted = 0;
    const named = new Set<string>();
    for (const b of manifest.batches) {
      const bm = await readJson(store, batchManifestKey(ref, b.batch), BatchManifestSchema);
      if (!bm) throw nonRetryable('ArchiveCorrupt', `${batchManifestKey(ref, b.batch)} is missing`);
      for (const o of [bm.object, ...(bm.supplements ?? []).map((x) => x.object)]) named.add(o.key);
    }
    const prefix = monthPrefix(ref);
    for (const o of await store.list(prefix)) {
      const name = o.key.slice(prefix.length);
      const stale =
        // Only batch objects no manifest names: a replaced one, or a rewrite of an earlier attempt.
        (BATCH_OBJECT_NAME.test(name) &&
          !named.has(o.key) &&
          (journal.replaced.includes(o.key) || /\.e-[0-9a-f]{16}\.wrap\.gz$/.test(name))) ||
        (/^index-[0-9a-f]{16}\.idx$/.test(name) && o.key !== manifest.index?.key);
      if (!stale) continue;
      await store.delete(o.key);
      deleted++;
    }
    step('replaced');
    // The dataset's former catalog still names the month's former first and last series: gone too.
    const root = await readCatalog(store);
    const entry = root?.datasets.find((d) => d.group === ref.group && d.dataset === ref.dataset);
    if (entry?.previous) {
      const prev = await store.getText(entry.previous).catch(() => undefined);
      const parsed = prev === undefined ? undefined : DatasetCatalogSchema.safeParse(JSON.parse(prev));
      const month = parsed?.success ? parsed.data.months.find((m) => m.month === ref.month) : undefined;
      if (month && month.index?.key !== manifest.index?.key) {
        await store.delete(entry.previous);
        deleted++;
      }
    }
    await store.delete(eraseJournalKey(ref));
    return { deleted };
  }

  return {
    /** The committed months an erasure goes through, after checking its selector with Warp 10. */
    async eraseScope(req: EraseRequest): Promise<EraseScope> {
      return keepAlive(async () => {
        try {
          return await scope(req);
        } catch (err) {
          throw toFailure(err);
        }
      });
    },

    /** One month: the series gone from its objects and manifests, committed as a new revision. */
    async eraseMonth(input: EraseMonthInput): Promise<EraseMonthResult> {
      return keepAlive(async () => {
        const undo: Undo = { keys: [] };
        try {
          return await eraseMonth(input, runOf(), undo);
        } catch (err) {
          const failure = toFailure(err);
          // A failure no retry mends (a damaged month), before the month changed: its journal goes, so
          // that the archive is not held, and so do the new objects nothing names.
          if (undo.journal && failure instanceof ApplicationFailure && failure.nonRetryable) {
            for (const key of undo.keys) await store.delete(key).catch(() => undefined);
            await store.delete(eraseJournalKey(undo.journal)).catch(() => undefined);
          }
          throw failure;
        }
      });
    },

    /** After the catalog lists the month's new revision: the replaced objects deleted, the journal closed. */
    async finishMonthErasure(ref: MonthRef): Promise<FinishResult> {
      return keepAlive(async () => {
        try {
          return await finishMonth(ref);
        } catch (err) {
          throw toFailure(err);
        }
      });
    },

    /** The erasure record: what it did, the selector only as a keyed hash. */
    async recordErasure(
      input: Omit<ErasureRecord, 'format' | 'selectorHmac' | 'series' | 'points' | 'objects'> & {
        selector: string;
      },
    ): Promise<string> {
      try {
        const { selector, ...rest } = input;
        const record: ErasureRecord = ErasureRecordSchema.parse({
          format: 'warp10-offloader/erasure@1',
          ...rest,
          selectorHmac: hmac(selector),
          series: input.months.reduce((n, m) => n + m.series, 0),
          points: input.months.reduce((n, m) => n + m.points, 0),
          objects: input.months.reduce((n, m) => n + m.objects, 0),
        });
        await writeJson(store, erasureRecordKey(record.id), record);
        return erasureRecordKey(record.id);
      } catch (err) {
        throw toFailure(err);
      }
    },
  };
}

/** A heartbeat with progress; nothing outside an activity (tests call the functions directly). */
function beat(details: unknown): void {
  try {
    heartbeat(details);
  } catch {
    // not in an activity
  }
}

/** The workflow run this activity belongs to (outside an activity, tests: 'local'). */
function runOf(): { workflowId: string; runId: string } {
  try {
    const e = activityInfo().workflowExecution;
    if (e) return { workflowId: e.workflowId, runId: e.runId };
  } catch {
    // outside an activity
  }
  return { workflowId: 'local', runId: 'local' };
}

export type EraseActivities = ReturnType<typeof createEraseActivities>;

/** The erasure records of the store, newest first. */
export async function listErasures(store: ArchiveStore): Promise<ErasureRecord[]> {
  const out: ErasureRecord[] = [];
  for (const o of await store.list('erasures/')) {
    if (!/^erasures\/[A-Za-z0-9-]+\.json$/.test(o.key)) continue;
    const r = await readJson(store, o.key, ErasureRecordSchema);
    if (r) out.push(r);
  }
  return out.sort((a, b) => (a.erasedAt < b.erasedAt ? 1 : a.erasedAt > b.erasedAt ? -1 : 0));
}
