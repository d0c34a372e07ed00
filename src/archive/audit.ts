// Audits an archived dataset-month from the store alone (no Warp 10): every batch object the manifest
// lists is present with its size and checksum, every line decodes as a wrapped series, per-series point
// counts and first/last ticks match the batch manifest, and nothing else lies in the month's folder.
// Streaming: one line of one object is held at a time, plus one batch manifest.
import { auditMonthIndex } from './index-audit.ts';
import { readCatalog, readDatasetCatalog } from './catalog-store.ts';
import { CATALOG_KEY } from './catalog.ts';
import { createHash } from 'node:crypto';
import { NotFoundError, type ArchiveStore } from '../store/types.ts';
import { hashingMembers } from './integrity.ts';
import { LineTooLongError, gzipLines } from './lines.ts';
import {
  BATCH_OBJECT_NAME,
  batchManifestKey,
  batchObjectKey,
  failureKey,
  purgeKey,
  monthManifestKey,
  monthPrefix,
  planKey,
  type MonthRef,
} from './layout.ts';
import { ArchiveInputError, readBatchManifest, readMonthManifest } from './read.ts';
import { parseSeriesName } from './series-name.ts';
import { WrapDecodeError, decodeWrapped } from './wrap-decode.ts';
import type { BatchManifest, Member, MonthManifest, SeriesEntry } from './manifest.ts';

export interface AuditProblem {
  /** The store key of the object at fault. */
  object: string;
  problem: string;
}

export interface MonthAudit extends MonthRef {
  ok: boolean;
  batches: number;
  series: number;
  points: number;
  bytes: number;
  problems: AuditProblem[];
}

/** Problems reported per batch object before moving on (the count of bad lines is always given). */
const MAX_LINE_PROBLEMS = 10;

const seriesKey = (cls: string, labels: Record<string, string>) =>
  JSON.stringify([cls, Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);

async function* hashing(body: AsyncIterable<Uint8Array>, hash: ReturnType<typeof createHash>) {
  for await (const chunk of body) {
    hash.update(chunk);
    yield chunk;
  }
}

export async function auditMonth(store: ArchiveStore, ref: MonthRef): Promise<MonthAudit> {
  const audit: MonthAudit = { ...ref, ok: false, batches: 0, series: 0, points: 0, bytes: 0, problems: [] };
  const problem = (object: string, text: string) => audit.problems.push({ object, problem: text });

  let manifest:
    Pick<MonthManifest, 'batches' | 'series' | 'points' | 'bytes' | 'index' | 'revision'> | undefined;
  try {
    manifest = await readMonthManifest(store, ref);
  } catch (err) {
    if (!(err instanceof ArchiveInputError)) throw err;
    problem(monthManifestKey(ref), err.message);
    return audit;
  }
  // A month not committed yet (its run failed or stopped) may hold batches already deleted from Warp 10:
  // their archive is the only copy of their points, so those are audited as a committed month's are.
  const committed = manifest !== undefined;
  if (!manifest) {
    const deleted = await deletedBatches(store, ref, problem);
    problem(
      monthManifestKey(ref),
      `missing: the month was never committed (its archive run has not finished)${deleted.length > 0 ? `; its ${deleted.length} batch(es) already deleted from Warp 10 are audited` : ''}`,
    );
    if (deleted.length === 0) return audit;
    manifest = {
      batches: deleted.map((bm) => ({
        batch: bm.batch,
        key: bm.object.key,
        bytes: bm.object.bytes,
        sha256: bm.object.sha256,
        series: bm.series.length,
        points: bm.points,
        supplements: (bm.supplements ?? []).map((x) => ({
          key: x.object.key,
          bytes: x.object.bytes,
          sha256: x.object.sha256,
          points: x.points,
        })),
      })),
      series: deleted.reduce((n, bm) => n + bm.series.length, 0),
      points: deleted.reduce((n, bm) => n + bm.points, 0),
      bytes: deleted.reduce((n, bm) => n + bm.object.bytes, 0),
    };
  }
  Object.assign(audit, {
    batches: manifest.batches.length,
    series: manifest.series,
    points: manifest.points,
    bytes: manifest.bytes,
  });

  const listed = new Map((await store.list(monthPrefix(ref))).map((o) => [o.key, o.bytes]));
  const expected = new Set([planKey(ref), monthManifestKey(ref), failureKey(ref), purgeKey(ref)]);
  if (!listed.has(planKey(ref))) problem(planKey(ref), 'missing');

  for (const entry of manifest.batches) {
    const manifestKey = batchManifestKey(ref, entry.batch);
    // Its export, or the export as an erasure rewrote it (batch-NNNNN.e-<16 hex>.wrap.gz).
    const name = entry.key.slice(monthPrefix(ref).length);
    const own =
      entry.key.startsWith(monthPrefix(ref)) &&
      BATCH_OBJECT_NAME.exec(name)?.[1] === String(entry.batch).padStart(5, '0') &&
      !BATCH_OBJECT_NAME.exec(name)?.[2];
    const objectKey = own ? entry.key : batchObjectKey(ref, entry.batch);
    expected.add(objectKey);
    expected.add(manifestKey);
    if (!own)
      problem(monthManifestKey(ref), `batch ${entry.batch} names ${entry.key}, expected ${objectKey}`);

    let bm;
    try {
      bm = await readBatchManifest(store, ref, entry.batch);
    } catch (err) {
      if (!(err instanceof ArchiveInputError)) throw err;
      problem(manifestKey, err.message);
    }
    if (bm === undefined && !audit.problems.some((p) => p.object === manifestKey))
      problem(manifestKey, 'missing');
    if (bm) {
      if (bm.status !== 'deleted') problem(manifestKey, `status is ${bm.status}, expected deleted`);
      if (bm.object.sha256 !== entry.sha256 || bm.object.bytes !== entry.bytes) {
        problem(
          manifestKey,
          `its object (${bm.object.bytes} bytes, SHA-256 ${bm.object.sha256}) differs from manifest.json's (${entry.bytes} bytes, ${entry.sha256})`,
        );
      }
      const points = bm.series.reduce((n, s) => n + s.points, 0);
      if (points !== entry.points || bm.series.length !== entry.series || bm.points !== points) {
        problem(
          manifestKey,
          `counts ${bm.series.length} series / ${points} points differ from manifest.json's ${entry.series} / ${entry.points}`,
        );
      }
    }

    /** One object of the batch (its export or a supplement): size, checksum, and every line. */
    const checkObject = async (
      objectKey: string,
      entry: { bytes: number; sha256: string; members?: Member[] | undefined },
      series: SeriesEntry[] | undefined,
    ) => {
      const members = entry.members;
      if (members) {
        let end = 0;
        for (const [i, m] of members.entries()) {
          if (m.offset !== end) problem(objectKey, `member ${i} starts at byte ${m.offset}, not ${end}`);
          end = m.offset + m.bytes;
        }
        if (end !== entry.bytes)
          problem(objectKey, `its members end at byte ${end}, the object at ${entry.bytes}`);
        const outside = (series ?? []).filter(
          (s) => s.points > 0 && (s.member === undefined || !members[s.member]),
        );
        if (outside.length > 0)
          problem(objectKey, `${outside.length} series name no member of it, first ${outside[0]!.selector}`);
      }
      const memberHashes = members?.map(() => createHash('sha256'));
      const size = listed.get(objectKey);
      if (size === undefined) {
        problem(objectKey, 'missing');
        return;
      }
      if (size !== entry.bytes) problem(objectKey, `is ${size} bytes, the manifest says ${entry.bytes}`);

      // One pass: the checksum, and every line decoded and compared with the batch manifest.
      const want = new Map<string, SeriesEntry>();
      for (const s of series ?? []) {
        if (s.points === 0) continue;
        try {
          const n = parseSeriesName(s.selector);
          want.set(seriesKey(n.cls, n.labels), s);
        } catch {
          problem(manifestKey, `series ${s.selector} is not a valid selector`);
        }
      }
      // Where each line is: members tile the object in order and hold one line a series, so the object's
      // line g is line g - starts[m] of the member m whose lines cover it (checked when every series has
      // its `line`, which ARCHIVE.FETCH reads a series by).
      const withData = (series ?? []).filter((s) => s.points > 0);
      const starts: number[] = [];
      if (
        members &&
        withData.length > 0 &&
        withData.every((s) => s.member !== undefined && s.line !== undefined)
      ) {
        const perMember = members.map(() => 0);
        for (const s of withData) if (s.member! < perMember.length) perMember[s.member!]!++;
        perMember.reduce((at, n) => (starts.push(at), at + n), 0);
        starts.push(withData.length);
      }
      let member = 0;
      const hash = createHash('sha256');
      let lines = 0;
      let badLines = 0;
      const seen = new Set<string>();
      const lineProblem = (text: string) => {
        badLines++;
        if (badLines <= MAX_LINE_PROBLEMS) problem(objectKey, text);
      };
      let readable = true;
      try {
        const body = hashing(await store.get(objectKey), hash);
        for await (const line of gzipLines(members ? hashingMembers(body, members, memberHashes!) : body)) {
          lines++;
          let d;
          try {
            d = decodeWrapped(line);
          } catch (err) {
            if (!(err instanceof WrapDecodeError)) throw err;
            lineProblem(`line ${lines} is not a readable wrapped series: ${err.message}`);
            continue;
          }
          const key = seriesKey(d.cls, d.labels);
          const s = want.get(key);
          if (!series) continue;
          if (!s) {
            lineProblem(
              `line ${lines} holds series ${d.cls}${JSON.stringify(d.labels)}, which its manifest does not list with points`,
            );
            continue;
          }
          if (seen.has(key)) lineProblem(`line ${lines} repeats series ${s.selector}`);
          seen.add(key);
          if (starts.length > 0) {
            while (member < starts.length - 2 && lines - 1 >= starts[member + 1]!) member++;
            const at = lines - 1 - starts[member]!;
            if (s.member !== member || s.line !== at) {
              lineProblem(
                `line ${lines}, series ${s.selector}: line ${at} of member ${member}, the batch manifest says line ${s.line} of member ${s.member}`,
              );
            }
          }
          if (d.points !== s.points || d.first !== s.first || d.last !== s.last) {
            lineProblem(
              `line ${lines}, series ${s.selector}: ${d.points} points from ${d.first} to ${d.last}, the batch manifest says ${s.points} from ${s.first} to ${s.last}`,
            );
          }
        }
      } catch (err) {
        if (err instanceof NotFoundError) {
          problem(objectKey, 'missing');
          return;
        }
        // zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR...) and a line without end: the object is damaged;
        // anything else is ours.
        if (
          !(err instanceof LineTooLongError) &&
          !String((err as NodeJS.ErrnoException).code).startsWith('Z_')
        )
          throw err;
        readable = false;
        problem(objectKey, `is not readable gzip after line ${lines}: ${(err as Error).message}`);
      }
      const sha = readable ? hash.digest('hex') : await store.sha256(objectKey);
      if (readable && members) {
        const bad = members.filter((m, i) => memberHashes![i]!.digest('hex') !== m.sha256);
        if (bad.length > 0) {
          problem(
            objectKey,
            `${bad.length} member(s) differ from their SHA-256, first at byte ${bad[0]!.offset}`,
          );
        }
      }
      if (sha !== entry.sha256) problem(objectKey, `SHA-256 is ${sha}, the manifest says ${entry.sha256}`);
      if (badLines > MAX_LINE_PROBLEMS) problem(objectKey, `${badLines} bad lines in all`);
      if (readable && series) {
        const missing = [...want.entries()].filter(([k]) => !seen.has(k)).map(([, s]) => s.selector);
        if (missing.length > 0) {
          problem(
            objectKey,
            `${missing.length} series of the batch manifest have no line: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
          );
        }
      }
    };
    await checkObject(objectKey, { ...entry, members: bm?.object.members }, bm?.series);
    const sups = bm?.supplements ?? [];
    const listedSups = entry.supplements ?? [];
    if (bm && sups.length !== listedSups.length) {
      problem(manifestKey, `lists ${sups.length} supplement(s), manifest.json ${listedSups.length}`);
    }
    for (const [i, sup] of sups.entries()) {
      expected.add(sup.object.key);
      const inMonth = listedSups[i];
      if (inMonth && (inMonth.key !== sup.object.key || inMonth.sha256 !== sup.object.sha256)) {
        problem(manifestKey, `supplement ${i + 1} (${sup.object.key}) differs from manifest.json's`);
      }
      const points = sup.series.reduce((n, x) => n + x.points, 0);
      if (points !== sup.points)
        problem(manifestKey, `supplement ${i + 1} counts ${sup.points} points, its series ${points}`);
      await checkObject(sup.object.key, sup.object, sup.series);
    }
  }

  if (!committed) return audit; // its unfinished batches' objects are no strays
  if (manifest.index) {
    expected.add(manifest.index.key);
    for (const p of await auditMonthIndex(store, ref, manifest)) problem(p.object, p.problem);
  }
  const listing = await catalogProblem(store, ref, manifest);
  if (listing) problem(CATALOG_KEY, listing);
  const prefix = monthPrefix(ref);
  const planPage = (key: string) => /^plan-\d{5}\.json$/.test(key.slice(prefix.length));
  for (const key of listed.keys()) {
    // Further pages of a large plan (plan-NNNNN.json) belong to the archive too.
    if (!expected.has(key) && !planPage(key))
      problem(key, 'stray object: not part of the archive of this month');
  }
  audit.ok = audit.problems.length === 0;
  return audit;
}

/**
 * What the catalog gets wrong about a committed month: not listed, or listed at another commit (queries
 * would not see it, or see its former index). A store without catalog.json is read by listing: no problem.
 */
async function catalogProblem(
  store: ArchiveStore,
  ref: MonthRef,
  manifest: Pick<MonthManifest, 'index' | 'revision'>,
): Promise<string | undefined> {
  const root = await readCatalog(store);
  if (!root) return undefined;
  const entry = root.datasets.find((d) => d.group === ref.group && d.dataset === ref.dataset);
  const month = entry
    ? (await readDatasetCatalog(store, entry)).months.find((m) => m.month === ref.month)
    : undefined;
  const fix = 'rerun the month (a committed month is published again) or npm run reindex';
  if (!month)
    return `does not list ${ref.group}/${ref.dataset} ${ref.month}: ARCHIVE.FETCH does not see it; ${fix}`;
  if (month.index?.key !== manifest.index?.key || month.revision !== (manifest.revision ?? 1)) {
    return `lists ${ref.group}/${ref.dataset} ${ref.month} at revision ${month.revision}, manifest.json is at ${manifest.revision ?? 1}: ${fix}`;
  }
  return undefined;
}

/** The batch manifests of an uncommitted month that say `deleted`, in batch order. */
async function deletedBatches(
  store: ArchiveStore,
  ref: MonthRef,
  problem: (object: string, text: string) => void,
): Promise<BatchManifest[]> {
  const out: BatchManifest[] = [];
  for (const { key } of await store.list(monthPrefix(ref))) {
    const batch = /^batch-(\d{5})\.json$/.exec(key.slice(monthPrefix(ref).length))?.[1];
    if (batch === undefined) continue;
    try {
      const bm = await readBatchManifest(store, ref, Number(batch));
      if (bm?.status === 'deleted') out.push(bm);
    } catch (err) {
      if (!(err instanceof ArchiveInputError)) throw err;
      problem(key, err.message);
    }
  }
  return out;
}

/** The datasets of `group` that have objects for `month` in the store. */
export async function archivedDatasets(store: ArchiveStore, group: string, month: string): Promise<string[]> {
  const names = new Set<string>();
  for (const o of await store.list(`${group}/`)) {
    const parts = o.key.split('/');
    if (parts.length >= 4 && parts[2] === month && parts[1]) names.add(parts[1]);
  }
  return [...names].sort();
}
