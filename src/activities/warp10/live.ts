// What Warp 10 holds live of a dataset: the month's series listed, every series by its metadata, and
// the counts of a batch's series read. The plan and the recheck both ask.
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import type { MonthRange, PartitionBatch } from '../../archive/manifest.ts';
import type { Selector } from '../../config/schema.ts';
import {
  asReadItem,
  fetchSelectors,
  lastUs,
  partitionItems,
  streamPartition,
  type Warp10ActivityDeps,
} from './shared.ts';

/** Series listed per plan request: bounded so a page stays far under Warp 10's fetch limits. */
export const PLAN_PAGE = 5_000;
/** Series listed per metadata-only request (FIND): no point is read, so pages can be larger. */
const FIND_PAGE = 50_000;

/**
 * The series of a selector holding data in the range, series with more labels first: a selector also
 * matches the series holding more labels, so the guarded delete refuses a series while one that extends
 * it still has data outside its batch (AMBIGUOUS_SELECTOR). Planned first, those are deleted in an
 * earlier batch or the same one; when label counts differ, batches are deleted one after another.
 */
export async function listLive(
  deps: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  selector: Selector,
  range: MonthRange,
): Promise<string[]>;
export async function listLive(
  deps: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  selector: Selector,
  range: MonthRange,
  stopAt: number | undefined,
): Promise<string[] | undefined>;
/** With `stopAt`: undefined as soon as the dataset has that many series (listed by metadata). */
export async function listLive(
  { runner, tokens }: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  selector: Selector,
  range: MonthRange,
  stopAt?: number,
): Promise<string[] | undefined> {
  const listed = new Set<string>();
  for (let gskip = 0; ; gskip += PLAN_PAGE) {
    if (stopAt !== undefined && gskip >= stopAt) return undefined;
    const [page] = await runner.run<[{ matched: number; selectors: string[] }]>(
      'archive-plan',
      {
        token: tokens.read,
        class: selector.class,
        labels: selector.labels,
        start: range.startUs,
        end: lastUs(range),
        gskip,
        gcount: PLAN_PAGE,
      },
      cancellationSignal(),
    );
    for (const sel of page.selectors) listed.add(sel);
    heartbeat({ listed: gskip + page.matched });
    if (page.matched < PLAN_PAGE) break;
  }
  return [...listed].sort((a, b) => labelCount(b) - labelCount(a));
}

/**
 * Every series of the dataset by its metadata alone (no point read), in FIND_PAGE pages; with `exclude`,
 * only those whose label `exclude.label` is missing or does not match `exclude.regex`.
 */
export async function findAll(
  { runner, tokens }: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  selector: Selector,
  exclude?: { label: string; regex: string },
): Promise<string[]> {
  const found: string[] = [];
  for (let gskip = 0; ; gskip += FIND_PAGE) {
    const [page] = await runner.run<[{ matched: number; selectors: string[] }]>(
      'archive-find',
      {
        token: tokens.read,
        class: selector.class,
        labels: selector.labels,
        gskip,
        gcount: FIND_PAGE,
        ...(exclude ? { exclude } : {}),
      },
      cancellationSignal(),
    );
    for (const sel of page.selectors) found.push(sel);
    heartbeat({ found: gskip + page.matched });
    if (page.matched < FIND_PAGE) break;
  }
  return found;
}

export async function liveRead(
  { runner, tokens }: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  selectors: string[],
  range: MonthRange,
) {
  const [items] = await runner.run<[unknown[]]>(
    'archive-read',
    {
      token: tokens.read,
      selectors,
      fetch: fetchSelectors(selectors),
      start: range.startUs,
      end: lastUs(range),
      wrap: false,
    },
    cancellationSignal(),
  );
  return new Map(items.map(asReadItem).map((i) => [i[0], i]));
}

/** Every series a partition batch's selector matches with data in the range, with its counts. */
export async function partitionRead(
  { runner, tokens }: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  part: PartitionBatch,
  range: MonthRange,
) {
  const body = await streamPartition({ runner, tokens }, part.selector, range);
  const found = new Map<string, ReturnType<typeof asReadItem>>();
  for await (const item of partitionItems(body)) found.set(item[0], item);
  return found;
}

/** Labels in a selector `class{k=v,...}` (names and values are URL-encoded: no raw comma inside). */
export function labelCount(selector: string): number {
  const labels = selector.slice(selector.lastIndexOf('{') + 1, -1);
  return labels === '' ? 0 : labels.split(',').length;
}

export const isNested = (sorted: string[]) =>
  sorted.length > 0 && labelCount(sorted[0]!) !== labelCount(sorted.at(-1)!);
