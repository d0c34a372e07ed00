// Export: a batch's series streamed from Warp 10, WRAPped and gzipped, into the store, with its manifest.
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { batchDamage, type ObjectDamage } from '../../archive/integrity.ts';
import { batchManifestKey, batchObjectKey, type MonthRef } from '../../archive/layout.ts';
import type { BatchManifest, SeriesEntry } from '../../archive/manifest.ts';
import { MemberEncoder } from '../../archive/members.ts';
import { wrapDigest } from '../../warp10/digest.ts';
import { nonRetryable, toFailure } from '../failures.ts';
import { readPlanBatch, requirePlanHead } from '../plan-store.ts';
import {
  fetchSelectors,
  findDatasetTemplates,
  lastUs,
  partitionItems,
  readBatch,
  readItems,
  streamPartition,
  writeBatch,
  type BatchRef,
  type BatchResult,
  type Warp10ActivityDeps,
} from './shared.ts';

const HEARTBEAT_EVERY = 200;

/** Streams the batch's series (WRAPped, one a line, gzip) from Warp 10 into the store. */
export async function exportBatch(deps: Warp10ActivityDeps, input: BatchRef): Promise<BatchResult> {
  const { config, store, runner, tokens } = deps;
  const { batch } = input;
  try {
    const existing = await readBatch(store, input, batch);
    if (existing && existing.status !== 'exported') {
      // Verified (its delete may have run) or deleted: the archive may be the only copy of its points,
      // so a missing or damaged object is an incident. Exporting again would read what is left in
      // Warp 10 (nothing) and write it over the manifest: the loss hidden. Nothing is written.
      const damaged = await batchDamage(store, existing);
      if (damaged.length > 0) throw damagedArchive(input, existing, damaged);
      return {
        batch,
        skipped: true,
        series: existing.series.length,
        points: existing.points,
        bytes: existing.object.bytes,
      };
    }
    if (existing) {
      const head = await store.head(existing.object.key);
      if (head && head.bytes === existing.object.bytes) {
        return {
          batch,
          skipped: true,
          series: existing.series.length,
          points: existing.points,
          bytes: existing.object.bytes,
        };
      }
    }
    const plan = await requirePlanHead(store, input);
    const pb = await readPlanBatch(store, plan, input, batch);
    // A partition batch is every series its one selector matches with data in the month.
    const part = Array.isArray(pb) ? undefined : pb;
    const selectors = part ? [] : (pb as string[]);
    const dataset = findDatasetTemplates(config, input);
    const started = Date.now();
    const seen = new Map<string, SeriesEntry>();
    const wanted = new Set(selectors);
    const body = part
      ? await streamPartition(deps, part.selector, plan.range)
      : await runner.stream(
          dataset?.export || 'archive-read',
          {
            token: tokens.read,
            selectors,
            fetch: fetchSelectors(selectors),
            start: plan.range.startUs,
            end: lastUs(plan.range),
            wrap: true,
          },
          cancellationSignal(),
        );
    // A partition batch comes as [ selector wrapped ] pairs (list functions only: a request of a dozen
    // Warp 10 operations however many series); its points and ticks are read from the wrapped series.
    const items = part ? partitionItems(body) : readItems(body);
    const wraps: string[] = [];
    // One gzip member every ~512 KiB of lines (src/archive/members.ts): a series is read back alone
    // with its member; members compress in the thread pool while the reply is parsed on.
    const encoder = new MemberEncoder();
    async function* members(): AsyncGenerator<Buffer> {
      for await (const [selector, points, first, last, wrapped, hash, attributes] of items) {
        if ((!part && !wanted.has(selector)) || seen.has(selector)) continue;
        const entry: SeriesEntry = {
          selector,
          points,
          first,
          last,
          ...(hash ? { hash } : {}),
          ...(attributes && points > 0 ? { attributes } : {}),
        };
        seen.set(selector, entry);
        if (points > 0) {
          if (!wrapped)
            throw nonRetryable('WarpScriptError', `series ${selector} came back without data`, batch);
          if (part) wraps.push(wrapped);
          entry.member = encoder.push(`${wrapped}\n`);
          entry.line = encoder.lastLine;
          if (encoder.full) yield* encoder.drain(1);
        }
        if (seen.size % HEARTBEAT_EVERY === 0) heartbeat({ batch, series: seen.size });
      }
      encoder.finish();
      yield* encoder.drain();
    }
    const stored = await store.put(batchObjectKey(input, batch), members(), {
      contentType: 'application/gzip',
    });
    const object = { ...stored, members: encoder.members };
    // A partition batch keeps one digest of its series' WRAPs, not a hash a series: its manifest stays
    // small against its data (many series of few points), and its guard compares the whole content.
    const series = part
      ? [...seen.values()].filter((s) => s.points > 0)
      : selectors.map((s) => seen.get(s) ?? { selector: s, points: 0, first: null, last: null });
    const manifest: BatchManifest = {
      format: 'warp10-offloader/batch@1',
      group: input.group,
      dataset: input.dataset,
      month: input.month,
      batch,
      range: plan.range,
      object,
      ...(part ? { partition: { selector: part.selector, wrap: wrapDigest(wraps) } } : {}),
      series,
      points: series.reduce((n, s) => n + s.points, 0),
      status: 'exported',
      exportedAt: new Date().toISOString(),
      exportMs: Date.now() - started,
    };
    await writeBatch(store, input, batch, manifest);
    return { batch, skipped: false, series: series.length, points: manifest.points, bytes: object.bytes };
  } catch (err) {
    throw toFailure(err, batch);
  }
}

/** The incident: which month, batch and object, what is wrong, that nothing was written, what to do. */
function damagedArchive(ref: MonthRef, m: BatchManifest, damaged: ObjectDamage[]) {
  const what = damaged.map((d) => `${d.key} ${d.problem}`).join('; ');
  const state =
    m.status === 'deleted'
      ? 'it is deleted from Warp 10, so this archive is the only copy of its points'
      : 'it is verified and its delete may already have run, so this archive may be the only copy of its points';
  return nonRetryable(
    'ArchiveDamaged',
    `${ref.group}/${ref.dataset} ${ref.month} batch ${m.batch}: ${what}; ${state}. Nothing was exported ` +
      `or rewritten over it. Put the object back from a copy of the store (versioning, a backup) so that ` +
      `it matches ${batchManifestKey(ref, m.batch)}, check it with npm run verify-archive -- --month ` +
      `${ref.month} --group ${ref.group} --dataset ${ref.dataset}, then rerun the month`,
    m.batch,
  );
}
