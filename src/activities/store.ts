// Activities on the archive store alone: commit a completed month and compensate a failed one.
import {
  batchManifestKey,
  batchOfKey,
  failureKey,
  monthManifestKey,
  monthPrefix,
  planKey,
  type MonthRef,
} from '../archive/layout.ts';
import { indexNamed, publishMonths, type PublishResult } from '../archive/catalog-store.ts';
import { summarizeBatches } from '../archive/month-summary.ts';
import {
  INDEX_FORMAT,
  buildMonthIndex,
  indexInputs,
  monthIndexKey,
  type MonthIndexRef,
  type SeriesOwners,
} from '../archive/month-index.ts';
import {
  type BatchManifest,
  BatchManifestSchema,
  FailureFileSchema,
  MonthManifestSchema,
  type MonthManifest,
  type Plan,
} from '../archive/manifest.ts';
import type { ArchiveStore } from '../store/types.ts';
import { ApplicationFailure } from '@temporalio/common';
import { nonRetryable, toFailure } from './failures.ts';
import { refuseWhileErasing } from './warp10/shared.ts';
import { readPlanHead } from './plan-store.ts';
import { keepAlive } from './keep-alive.ts';
import { readJson, writeJson } from './store-json.ts';

export interface CommitResult {
  series: number;
  points: number;
  bytes: number;
  /** What this commit added to the month's archive (all of it on the first commit). */
  added: { series: number; points: number; bytes: number };
  /** 1 for the first commit of the month, then 2, 3… when later runs archived late data into it. */
  revision: number;
  batches: number;
  manifest: string;
}

/**
 * A month's index built ahead of its commit (stageMonthIndex), and what it was built from: the commit
 * takes it only if its own batch manifests give the same `inputs`.
 */
export interface StagedIndex {
  key: string;
  ref: Omit<MonthIndexRef, 'key'>;
  owners: boolean;
  /** SHA-256 of what the index is a function of (indexInputs). */
  inputs: string;
}

export type CommitInput = MonthRef & { workflowId: string; runId: string; staged?: StagedIndex };

export interface FailureRecord extends MonthRef {
  phase: string;
  batch?: number;
  /** The month index the failed run staged ahead of its commit. */
  stagedIndex?: string;
  error: { type: string; message: string };
  workflowId: string;
  runId: string;
}

export interface CompensationResult {
  removed: string[];
  kept: number;
  /** The month index the failed run staged, removed (nothing named it). */
  removedIndex?: string;
}

export function createStoreActivities(deps: {
  store: ArchiveStore;
  /** The owners of a dataset's series, recorded in the month's index (undefined: Warp 10 cannot say). */
  owners?: (selector: Plan['selector']) => Promise<SeriesOwners | undefined>;
}) {
  const { store } = deps;
  return {
    /** Writes manifest.json last: its presence is what marks the month complete. */
    async commitMonth(input: CommitInput): Promise<CommitResult> {
      return keepAlive(() => commitMonth(input));
    },

    /**
     * Builds and stores the month's index once every batch is exported, while Warp 10 verifies and
     * deletes, so that the commit need not: for 200,000 series that was most of the commit's ~3 s, with
     * Warp 10 idle. A guarded delete that archives late data changes what the index must hold: the commit
     * then builds its own (see takeStaged). Undefined when a batch manifest is missing. Nothing names the
     * object until the commit does; one the commit does not take is removed by it, or by the compensation
     * of the run that staged it.
     */
    async stageMonthIndex(input: MonthRef): Promise<StagedIndex | undefined> {
      return keepAlive(async () => {
        try {
          const plan = await readPlanHead(store, input);
          if (!plan) return undefined;
          const asked = deps.owners?.(plan.selector);
          asked?.catch(() => {});
          const manifests = await readBatchManifests(input, plan.batchCount);
          if (manifests.some((m) => m === undefined)) return undefined;
          const done = manifests as BatchManifest[];
          const owners = await asked;
          const built = buildMonthIndex(done, plan.range, owners);
          const key = monthIndexKey(monthPrefix(input), built.ref.sha256);
          await store.put(key, built.body);
          return { key, ref: built.ref, owners: owners !== undefined, inputs: indexInputs(plan.range, done) };
        } catch (err) {
          throw toFailure(err);
        }
      });
    },

    /**
     * Sets the months' entries of the catalog from their manifest.json. Run only by the catalog's single
     * writer (src/workflows/catalog.ts): two at once would drop each other's change.
     */
    async publishCatalog(months: MonthRef[]): Promise<PublishResult> {
      return keepAlive(async () => {
        try {
          return await publishMonths(store, months);
        } catch (err) {
          throw toFailure(err);
        }
      });
    },

    /**
     * Removes what a failed run left unverified — batch objects without a manifest or only 'exported'.
     * Verified and deleted batches stay: their data may already be gone from Warp 10 (a delete whose
     * reply was lost leaves a batch 'verified'), so their archive must never be removed.
     */
    async compensateFailure(input: FailureRecord): Promise<CompensationResult> {
      return keepAlive(() => compensateFailure(input));
    },
  };

  /** Batch manifests, a few at a time: a month may hold thousands of batches. */
  function readBatchManifests(ref: MonthRef, count: number) {
    return mapBounded(count, 16, (i) => readJson(store, batchManifestKey(ref, i + 1), BatchManifestSchema));
  }

  /**
   * The staged index, if it was built by this format from these very inputs, with the owners when Warp 10
   * can say them (staged without: asked again), and is stored intact.
   */
  async function takeStaged(ref: MonthRef, staged: StagedIndex | undefined, inputs: () => string) {
    if (!staged || staged.ref.format !== INDEX_FORMAT || (!staged.owners && deps.owners)) return undefined;
    if (staged.inputs !== inputs()) return undefined;
    if (staged.key !== monthIndexKey(monthPrefix(ref), staged.ref.sha256)) return undefined;
    const info = await store.head(staged.key);
    if (info?.bytes !== staged.ref.bytes) return undefined;
    return (await store.sha256(staged.key)) === staged.ref.sha256 ? staged : undefined;
  }

  /** Deletes an index object of the month that nothing names; true if it did. Never fails the caller. */
  async function removeUnnamedIndex(ref: MonthRef, key: string): Promise<boolean> {
    const prefix = monthPrefix(ref);
    if (!key.startsWith(prefix) || !INDEX_NAME.test(key.slice(prefix.length))) return false;
    try {
      if (await indexNamed(store, ref, key)) return false;
      await store.delete(key);
      return true;
    } catch {
      return false; // left behind: verify-archive reports it as a stray object
    }
  }

  async function commitMonth(input: CommitInput): Promise<CommitResult> {
    try {
      await refuseWhileErasing(store, input);
      const plan = await readPlanHead(store, input);
      if (!plan) throw nonRetryable('PlanMissing', `no plan at ${planKey(input)}`);
      // Who owns each series (the index records it), asked of Warp 10 while the batch manifests are read:
      // for a month of 1,000,000 series each takes seconds. Awaited below, where a failure counts. Not
      // asked when an index was staged: the commit most likely takes it.
      const asked = input.staged ? undefined : deps.owners?.(plan.selector);
      asked?.catch(() => {});
      const manifests = await readBatchManifests(input, plan.batchCount);
      manifests.forEach((m, i) => {
        if (m?.status !== 'deleted') {
          throw nonRetryable(
            'IncompleteMonth',
            `batch ${i + 1} is ${m?.status ?? 'missing'}, not deleted: the month is not complete`,
            i + 1,
          );
        }
      });
      const summary = summarizeBatches(manifests as BatchManifest[]);
      const { batches } = summary;
      const previous = await readJson(store, monthManifestKey(input), MonthManifestSchema);
      // The lookup index, written before the manifest that names it (content-named: a rerun writes the same).
      const staged = await takeStaged(input, input.staged, () =>
        indexInputs(plan.range, manifests as BatchManifest[]),
      );
      let index: MonthIndexRef & { owners: boolean };
      if (staged) {
        index = { key: staged.key, ...staged.ref, owners: staged.owners };
      } else {
        const owners = await (asked ?? deps.owners?.(plan.selector));
        const built = buildMonthIndex(manifests as BatchManifest[], plan.range, owners);
        index = {
          key: monthIndexKey(monthPrefix(input), built.ref.sha256),
          ...built.ref,
          owners: owners !== undefined,
        };
        await store.put(index.key, built.body);
      }
      const manifest: MonthManifest = {
        format: 'warp10-offloader/month@1',
        group: input.group,
        dataset: input.dataset,
        month: input.month,
        range: plan.range,
        batches,
        series: summary.series,
        points: summary.points,
        bytes: summary.bytes,
        plannedAt: plan.createdAt,
        committedAt: new Date().toISOString(),
        workflowId: input.workflowId,
        runId: input.runId,
        revision: previous ? (previous.revision ?? 1) + 1 : 1,
        index,
        ...(previous?.erasures ? { erasures: previous.erasures } : {}),
      };
      // An erasure that committed the month meanwhile: this commit read what it rewrote (retried, it reads again).
      await refuseWhileErasing(store, input);
      const now = await readJson(store, monthManifestKey(input), MonthManifestSchema);
      if ((now?.revision ?? (now ? 1 : 0)) !== (previous?.revision ?? (previous ? 1 : 0))) {
        throw ApplicationFailure.retryable(
          `${monthManifestKey(input)} changed while the month was committed: commit again`,
          'ErasedMeanwhile',
        );
      }
      await writeJson(store, monthManifestKey(input), manifest);
      // A staged index not taken (late data came after it) is nobody's: removed unless something names it.
      if (input.staged && input.staged.key !== index.key) await removeUnnamedIndex(input, input.staged.key);
      // The index of the previous commit stays until the catalog no longer names it (publishCatalog).
      // A failure recorded by an earlier run is over now: say so rather than leave it looking current.
      const failure = await readJson(store, failureKey(input), FailureFileSchema).catch(() => undefined);
      if (failure && failure.resolvedAt === undefined) {
        await writeJson(store, failureKey(input), {
          ...failure,
          resolvedAt: manifest.committedAt,
          resolvedBy: { workflowId: input.workflowId, runId: input.runId },
        });
      }
      return {
        series: manifest.series,
        points: manifest.points,
        bytes: manifest.bytes,
        revision: manifest.revision ?? 1,
        added: {
          series: manifest.series - (previous?.series ?? 0),
          points: manifest.points - (previous?.points ?? 0),
          bytes: manifest.bytes - (previous?.bytes ?? 0),
        },
        batches: batches.length,
        manifest: monthManifestKey(input),
      };
    } catch (err) {
      throw toFailure(err);
    }
  }

  async function compensateFailure(input: FailureRecord): Promise<CompensationResult> {
    try {
      const objects = await store.list(monthPrefix(input));
      const removed: string[] = [];
      let kept = 0;
      const batches = new Set(
        objects.map((o) => batchOfKey(o.key)).filter((b): b is number => b !== undefined),
      );
      for (const b of [...batches].sort((x, y) => x - y)) {
        const m = await readJson(store, batchManifestKey(input, b), BatchManifestSchema).catch(
          () => undefined,
        );
        if (m && m.status !== 'exported') {
          kept++;
          // A supplement the manifest does not list was never verified: its points are still live.
          const listed = new Set([m.object.key, ...(m.supplements ?? []).map((x) => x.object.key)]);
          for (const o of objects.filter((x) => batchOfKey(x.key) === b && x.key.endsWith('.wrap.gz'))) {
            if (listed.has(o.key)) continue;
            await store.delete(o.key);
            removed.push(o.key);
          }
          continue;
        }
        for (const o of objects.filter((x) => batchOfKey(x.key) === b)) {
          await store.delete(o.key);
          removed.push(o.key);
        }
      }
      // The index the failed run staged for a commit that did not take it: removed unless something names
      // it. Only that one: another writer's index (a rerun's commit, an erasure, reindex) is unnamed
      // between its put and the manifest.json that names it.
      const staleIndex =
        input.stagedIndex !== undefined && (await removeUnnamedIndex(input, input.stagedIndex))
          ? input.stagedIndex
          : undefined;
      await writeJson(store, failureKey(input), {
        format: 'warp10-offloader/failure@1',
        ...input,
        failedAt: new Date().toISOString(),
        removed,
        keptBatches: kept,
        ...(staleIndex ? { removedIndex: staleIndex } : {}),
      });
      return { removed, kept, ...(staleIndex ? { removedIndex: staleIndex } : {}) };
    } catch (err) {
      throw toFailure(err);
    }
  }
}

export type StoreActivities = ReturnType<typeof createStoreActivities>;

const INDEX_NAME = /^index-[0-9a-f]{16}\.idx$/;

/** fn(0..count-1) with at most `limit` calls in flight, results in order. */
async function mapBounded<T>(count: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
  return out;
}
