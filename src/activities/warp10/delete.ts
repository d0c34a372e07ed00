// Delete: the guarded delete of a verified batch; late data found there goes back to the workflow.
import { cancellationSignal } from '@temporalio/activity';
import type { BatchManifest, SeriesEntry } from '../../archive/manifest.ts';
import { summaryDigest } from '../../warp10/digest.ts';
import { groupSelectors } from '../../warp10/selectors.ts';
import { nonRetryable, toFailure } from '../failures.ts';
import {
  batchWrapDigest,
  contentDigest,
  findDatasetTemplates,
  isCounts,
  lastUs,
  readBatch,
  unexpected,
  writeBatch,
  type BatchRef,
  type BatchResult,
  type Warp10ActivityDeps,
} from './shared.ts';

/**
 * `late`: series whose live data differs from the archive (nothing was deleted then); for a partition
 * batch with a content digest, its selector alone (the late path compares the whole batch).
 */
export type DeleteResult = BatchResult & { deleted: number; alreadyGone: number; late: string[] };

/** The guarded delete (see archive-delete.mc2): only a verified batch, only its series and month. */
export async function deleteBatch(deps: Warp10ActivityDeps, input: BatchRef): Promise<DeleteResult> {
  const { config, store, runner, tokens } = deps;
  const { batch } = input;
  try {
    const m = await readBatch(store, input, batch);
    if (!m || m.status === 'exported') {
      throw nonRetryable('NotVerified', `batch ${batch} is not verified; refusing to delete`, batch);
    }
    const result = { batch, series: m.series.length, points: m.points, bytes: m.object.bytes };
    if (m.status === 'deleted') {
      return {
        ...result,
        skipped: true,
        deleted: m.deleted?.deleted ?? 0,
        alreadyGone: m.deleted?.alreadyGone ?? 0,
        late: [],
      };
    }
    const live = expectedLive(m);
    const expected = live.map((s) => [s.selector, s.points, s.first, s.last, s.hash ?? null]);
    let outcome = { deleted: 0, alreadyGone: 0, checked: 0, changed: [] as unknown[], digest: true };
    if (m.partition) {
      // One selector matching this batch's series only: checked and deleted in one request. First by
      // the digest of the series' summaries alone (a small request, a cheap comparison); only when it
      // differs (late data, an earlier attempt's partial delete) again with every series' summary, which
      // names what changed.
      const { selector } = m.partition;
      const guard = (compare: Record<string, unknown>) =>
        runner.run<[typeof outcome]>(
          'archive-delete-partition',
          {
            readToken: tokens.read,
            writeToken: tokens.write,
            selector,
            start: m.range.startUs,
            end: lastUs(m.range),
            ...compare,
          },
          cancellationSignal(),
        );
      const wrap = batchWrapDigest(m);
      const digest = contentDigest(m);
      if (wrap) {
        // The whole content (every point, label and attribute) in a dozen Warp 10 operations; when it
        // differs, the late path finds what changed and takes a new digest.
        [outcome] = await guard({ wrap, live: live.length });
        if (!outcome.digest)
          return { ...result, skipped: false, deleted: 0, alreadyGone: 0, late: [selector] };
      } else if (digest) {
        // Counts, ticks and content in one digest: when it differs, only a point-by-point comparison
        // with the archive can say what changed, and the late path makes it over the whole batch.
        [outcome] = await guard({ digest, live: live.length, content: true });
        if (!outcome.digest)
          return { ...result, skipped: false, deleted: 0, alreadyGone: 0, late: [selector] };
      } else {
        // An archive written before content hashes: counts and ticks only, as it was exported.
        [outcome] = await guard({ digest: summaryDigest(live), live: live.length });
        if (!outcome.digest) [outcome] = await guard({ expected: expected.map((e) => e.slice(0, 4)) });
      }
    } else if (expected.length > 0) {
      const groups = groupSelectors(expected.map((e) => e[0] as string)).map((g) => [g.selector, g.members]);
      [outcome] = await runner.run<[typeof outcome]>(
        findDatasetTemplates(config, input)?.delete ?? 'archive-delete',
        {
          readToken: tokens.read,
          writeToken: tokens.write,
          expected,
          groups,
          start: m.range.startUs,
          end: lastUs(m.range),
        },
        cancellationSignal(),
      );
    }
    // Late data: nothing was deleted; the workflow archives what is new, then deletes again.
    const late = (outcome.changed ?? []).map((c) => {
      if (!isCounts(c)) throw unexpected('delete', c);
      return c[0];
    });
    if (late.length > 0) return { ...result, skipped: false, deleted: 0, alreadyGone: 0, late };
    const { changed: _, digest: _d, ...counts } = outcome;
    await writeBatch(store, input, batch, {
      ...m,
      status: 'deleted',
      deletedAt: new Date().toISOString(),
      deleted: counts,
    });
    return { ...result, skipped: false, deleted: counts.deleted, alreadyGone: counts.alreadyGone, late: [] };
  } catch (err) {
    throw toFailure(err, batch);
  }
}

/**
 * What the guarded delete expects live of each series with data: its export, or what Warp 10 held of
 * it when its latest supplement was taken (all of which is archived by then).
 */
export function expectedLive(m: BatchManifest): SeriesEntry[] {
  const bySelector = new Map(m.series.map((s) => [s.selector, s]));
  for (const sup of m.supplements ?? []) for (const l of sup.live) bySelector.set(l.selector, l);
  return [...bySelector.values()].filter((s) => s.points > 0);
}
