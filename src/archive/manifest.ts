// The JSON documents the archive writes. Parsed back with zod so a damaged or foreign file is reported,
// not trusted.
import { z } from 'zod';
import { INDEX_FORMATS } from './month-index.ts';

export const RangeSchema = z.object({
  timezone: z.string(),
  startIso: z.string(),
  endIso: z.string(),
  /** First microsecond of the month (inclusive). */
  startUs: z.number().int(),
  /** First microsecond of the next month (exclusive). */
  endUs: z.number().int(),
});
export type MonthRange = z.infer<typeof RangeSchema>;

/**
 * A batch of a large dataset named by one selector: the dataset's plus a regex on `label` matching the
 * values starting with one of `prefixes` or equal to one of `exact` (see src/warp10/partitions.ts).
 */
export const PartitionBatchSchema = z.object({
  selector: z.string(),
  label: z.string(),
  prefixes: z.array(z.string()),
  exact: z.array(z.string()),
  /** Series listed in it at plan time (with or without data in the month). */
  series: z.number().int().nonnegative(),
});
export type PartitionBatch = z.infer<typeof PartitionBatchSchema>;

/** A batch of the plan: the exact selectors of its series, or a partition of a large dataset. */
export const PlanBatchSchema = z.union([z.array(z.string()), PartitionBatchSchema]);
export type PlanBatch = z.infer<typeof PlanBatchSchema>;

export const PlanSchema = z.object({
  format: z.literal('warp10-offloader/plan@1'),
  group: z.string(),
  dataset: z.string(),
  month: z.string(),
  range: RangeSchema,
  selector: z.object({ class: z.string(), labels: z.record(z.string(), z.string()) }),
  seriesPerBatch: z.number().int().positive(),
  /** Whether label counts differ (some series may extend others): then deletes keep the plan's order. */
  nested: z.boolean().optional(),
  /** The first page of batches (batch 1 onwards); the others are in plan-NNNNN.json. */
  batches: z.array(PlanBatchSchema),
  /** Large datasets: the label their partition batches split on, and what the batches were sized by. */
  partitions: z
    .object({
      label: z.string(),
      pointsPerBatch: z.number().int().positive(),
      /** From a sample of the dataset's first series: points per series, share of series with data. */
      pointsPerSeries: z.number().nonnegative(),
      liveShare: z.number().min(0).max(1),
    })
    .optional(),
  /** Absent in plans written before paging: then `batches` holds them all. */
  batchCount: z.number().int().nonnegative().optional(),
  series: z.number().int().nonnegative().optional(),
  batchesPerPage: z.number().int().positive().optional(),
  createdAt: z.string(),
});
export type Plan = z.infer<typeof PlanSchema>;

/** Batches `first`.. of a plan too large for one document. */
export const PlanPageSchema = z.object({
  format: z.literal('warp10-offloader/plan-page@1'),
  page: z.number().int().min(2),
  first: z.number().int().positive(),
  batches: z.array(PlanBatchSchema),
});
export type PlanPage = z.infer<typeof PlanPageSchema>;

export const SeriesEntrySchema = z.object({
  selector: z.string(),
  points: z.number().int().nonnegative(),
  first: z.number().int().nullable(),
  last: z.number().int().nullable(),
  /**
   * Content hash of the series' points (src/warp10/digest.ts): in batches of a few series; absent in a
   * partition batch (its manifest keeps the batch's digest instead) and in archives written before.
   */
  hash: z.string().optional(),
  /** In a supplement: how many of its points replace an archived point at the same tick (a rewrite). */
  rewritten: z.number().int().nonnegative().optional(),
  /** Its attributes at export, when it has any (selectors match them too); absent in archives before. */
  attributes: z.record(z.string(), z.string()).optional(),
  /** Index in its object's `members` of the gzip member holding the series (absent: no points, or before). */
  member: z.number().int().nonnegative().optional(),
  /** Index of its line within that member: a reader decodes that line alone (absent in archives before). */
  line: z.number().int().nonnegative().optional(),
});
export type SeriesEntry = z.infer<typeof SeriesEntrySchema>;

/** A gzip member of a seekable object (src/archive/members.ts): a range read gets its series alone. */
export const MemberSchema = z.object({
  offset: z.number().int().nonnegative(),
  bytes: z.number().int().positive(),
  sha256: z.string(),
});
export type Member = z.infer<typeof MemberSchema>;

/** `members`: the object is a multi-member gzip of them, in order (absent in archives written before). */
const StoredObjectSchema = z.object({
  key: z.string(),
  bytes: z.number().int(),
  sha256: z.string(),
  members: z.array(MemberSchema).optional(),
});

/**
 * Late data of a batch: the points that appeared in its series after its export, or replaced an
 * archived point at the same tick with another value (`rewritten` of them: the newest value wins for
 * every reader), never an archived point as it is (its own object, same format). `live` is what Warp 10
 * held of those series when it was taken — everything of it is archived now, so that is what the
 * guarded delete expects to find; for a partition batch, `digest` is that of the whole batch then.
 */
export const SupplementSchema = z.object({
  object: StoredObjectSchema,
  series: z.array(SeriesEntrySchema),
  /** Points of `object`, rewritten ones included: the month counts `points - rewritten`. */
  points: z.number().int().nonnegative(),
  rewritten: z.number().int().nonnegative().optional(),
  live: z.array(SeriesEntrySchema),
  digest: z.string().optional(),
  /** A partition batch with wrap digests: the wrap digest of the whole batch when this was taken. */
  wrap: z.string().optional(),
  exportedAt: z.string(),
});
export type Supplement = z.infer<typeof SupplementSchema>;

/** An erasure that rewrote a batch or month (src/activities/erase.ts): which, when, and how much it removed. */
export const ErasureMarkSchema = z.object({
  id: z.string(),
  erasedAt: z.string(),
  series: z.number().int().nonnegative(),
  points: z.number().int().nonnegative(),
});
export type ErasureMark = z.infer<typeof ErasureMarkSchema>;

export const BatchStatus = z.enum(['exported', 'verified', 'deleted']);
export type BatchStatus = z.infer<typeof BatchStatus>;

export const BatchManifestSchema = z.object({
  format: z.literal('warp10-offloader/batch@1'),
  group: z.string(),
  dataset: z.string(),
  month: z.string(),
  batch: z.number().int().positive(),
  range: RangeSchema,
  object: StoredObjectSchema,
  /**
   * A partition batch: its one selector (its series are those it matched with data at export), and the
   * summary digest of those series with their content hashes (src/warp10/digest.ts; absent in archives
   * written before content hashes), or since wrap digests the digest of their WRAPs (`wrap`, see
   * wrapDigest in src/warp10/digest.ts: the guard compares the whole content in a dozen operations).
   */
  partition: z
    .object({ selector: z.string(), digest: z.string().optional(), wrap: z.string().optional() })
    .optional(),
  series: z.array(SeriesEntrySchema),
  /** Points of `object` (supplements count their own). */
  points: z.number().int().nonnegative(),
  /** Verified late data, in the order taken. */
  supplements: z.array(SupplementSchema).optional(),
  status: BatchStatus,
  exportedAt: z.string(),
  exportMs: z.number(),
  verifiedAt: z.string().optional(),
  deletedAt: z.string().optional(),
  /** A rerun of the committed month found points in its series again: verified again, deleted again. */
  reopenedAt: z.string().optional(),
  deleted: z
    .object({ deleted: z.number().int(), alreadyGone: z.number().int(), checked: z.number().int() })
    .optional(),
  /**
   * Erasures that rewrote the batch, oldest first. A writer holding a copy read before the last one
   * must not write it back (writeBatch refuses it): it would name objects the erasure removed.
   */
  erasures: z.array(ErasureMarkSchema).optional(),
});
export type BatchManifest = z.infer<typeof BatchManifestSchema>;

export const MonthManifestSchema = z.object({
  format: z.literal('warp10-offloader/month@1'),
  group: z.string(),
  dataset: z.string(),
  month: z.string(),
  range: RangeSchema,
  batches: z.array(
    z.object({
      batch: z.number().int(),
      key: z.string(),
      bytes: z.number().int(),
      sha256: z.string(),
      series: z.number().int(),
      /** Points of the batch object; its supplements' points are listed with them. */
      points: z.number().int(),
      supplements: z
        .array(
          z.object({
            key: z.string(),
            bytes: z.number().int(),
            sha256: z.string(),
            points: z.number().int(),
            /** Of those, points replacing an archived value at the same tick (counted once, above). */
            rewritten: z.number().int().optional(),
          }),
        )
        .optional(),
    }),
  ),
  series: z.number().int(),
  /** Every point archived for the month, supplements included, a rewritten tick once. */
  points: z.number().int(),
  bytes: z.number().int(),
  plannedAt: z.string(),
  committedAt: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  /** Commits of this month: 1, then one more each time a later run archived late data into it. */
  revision: z.number().int().positive().optional(),
  /** The month's lookup index (src/archive/month-index.ts); absent in months committed before it. */
  index: z
    .object({
      format: z.enum(INDEX_FORMATS),
      key: z.string(),
      bytes: z.number().int().positive(),
      sha256: z.string(),
      footer: z.object({
        offset: z.number().int().nonnegative(),
        bytes: z.number().int().positive(),
        sha256: z.string(),
      }),
      series: z.number().int().nonnegative(),
      blocks: z.number().int().nonnegative(),
      /** Whether each series' owner and producer are recorded (ARCHIVE.OWNERS answered at commit). */
      owners: z.boolean().optional(),
    })
    .optional(),
  /** Erasures that removed series from the month, oldest first (each one a revision). */
  erasures: z.array(ErasureMarkSchema).optional(),
});
export type MonthManifest = z.infer<typeof MonthManifestSchema>;

/** failure.json: the last failure of the month, and when a later run completed it. */
export const FailureFileSchema = z
  .object({
    format: z.literal('warp10-offloader/failure@1'),
    failedAt: z.string(),
    resolvedAt: z.string().optional(),
    resolvedBy: z.object({ workflowId: z.string(), runId: z.string() }).optional(),
  })
  .passthrough();

/** A series whose metadata a purge removed: its selector, class, every label (owner, producer, application) and attributes. */
export const PurgedSeriesSchema = z.tuple([
  z.string(),
  z.string(),
  z.record(z.string(), z.string()),
  z.record(z.string(), z.string()),
]);
export type PurgedSeries = z.infer<typeof PurgedSeriesSchema>;

/**
 * purge.json: what the metadata purge after the month's commit did (revision: the commit it followed;
 * complete: false while it runs). `purged` names the series whose metadata left Warp 10's directory (their
 * archive keeps them); the dataset's next purge rechecks them (`rechecked`, `revivedLater`).
 */
export const PurgeRecordSchema = z.object({
  format: z.literal('warp10-offloader/purge@1'),
  revision: z.number().int().positive(),
  purgedAt: z.string(),
  complete: z.boolean(),
  candidates: z.number().int().nonnegative(),
  purged: z.array(PurgedSeriesSchema),
  live: z.number().int().nonnegative(),
  revived: z.array(z.string()),
  attributesChanged: z.array(z.string()),
  ambiguous: z.number().int().nonnegative(),
  outOfReach: z.number().int().nonnegative(),
  missing: z.number().int().nonnegative(),
  /** Series also in a month of the dataset not committed yet: left for that month's purge. */
  inProgress: z.number().int().nonnegative(),
  rechecked: z.string().optional(),
  revivedLater: z.array(z.string()).optional(),
});
export type PurgeRecord = z.infer<typeof PurgeRecordSchema>;

/**
 * erase.json: an erasure under way in the month, written before it changes anything and removed when it is
 * over. While it exists, the archive's writes into the month wait (src/activities/warp10/shared.ts,
 * commitMonth). It holds no label: counts, object keys and the erased series' positions only.
 */
export const EraseJournalSchema = z.object({
  format: z.literal('warp10-offloader/erase-journal@1'),
  /** The erasure (its first run), and the workflow run that holds the month. */
  id: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  /** HMAC-SHA256 of the erasure's selector (as in its record): a run of another selector never carries it on. */
  selectorHmac: z.string(),
  openedAt: z.string(),
  /** open: nothing changed yet; written: new objects stored and verified; committed: manifest.json names them. */
  phase: z.enum(['open', 'written', 'committed']),
  /** Objects the rewrite replaced: deleted once the catalog no longer sends a reader to them. */
  replaced: z.array(z.string()),
  /** What the erasure removed from each batch it rewrote (fixed when `written`). */
  batches: z.array(
    z.object({
      batch: z.number().int().positive(),
      series: z.number().int().nonnegative(),
      points: z.number().int().nonnegative(),
      objects: z.number().int().nonnegative(),
    }),
  ),
  /** The month manifest's revision the erasure started from. */
  revision: z.number().int().positive(),
});
export type EraseJournal = z.infer<typeof EraseJournalSchema>;

/** erasures/<id>.json: what an erasure did, kept for good. No data and no label: the selector's keyed hash. */
export const ErasureRecordSchema = z.object({
  format: z.literal('warp10-offloader/erasure@1'),
  /** The erasure: its workflow's first run (the `id` of the marks it left in manifests). */
  id: z.string(),
  erasedAt: z.string(),
  /** HMAC-SHA256 of the selector (key: erasure.recordKey, else the Warp 10 write token). */
  selectorHmac: z.string(),
  from: z.string().optional(),
  to: z.string().optional(),
  hot: z.boolean(),
  months: z.array(
    z.object({
      group: z.string(),
      dataset: z.string(),
      month: z.string(),
      series: z.number().int().nonnegative(),
      points: z.number().int().nonnegative(),
      objects: z.number().int().nonnegative(),
    }),
  ),
  series: z.number().int().nonnegative(),
  points: z.number().int().nonnegative(),
  objects: z.number().int().nonnegative(),
  /** With --hot: series whose data and metadata the hot Warp 10 deleted. */
  hotSeries: z.number().int().nonnegative().optional(),
  /** Months in the range not erased: not committed when it ran (their archive run unfinished). */
  notErased: z.array(z.object({ group: z.string(), dataset: z.string(), month: z.string() })).optional(),
});
export type ErasureRecord = z.infer<typeof ErasureRecordSchema>;

export const FORMAT_NOTE =
  'Each batch-NNNNN.wrap.gz is gzip text, one WRAPped Geo Time Series a line: read it back with WarpScript UNWRAP.';
