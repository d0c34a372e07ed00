// Who owns each series of a dataset, as Warp 10 knows it (`.owner`, `.producer`: FIND hides them), read by
// ARCHIVE.OWNERS of this project's Warp 10 extension. The commit records them in the month's index, so that
// ARCHIVE.FETCH gives a token only the archived series FETCH would have given it.
import type { SeriesOwners } from '../../archive/month-index.ts';
import type { Selector } from '../../config/schema.ts';
import { WarpScriptError } from '../../warp10/client.ts';
import type { Warp10ActivityDeps } from './shared.ts';

interface OwnersReply {
  pairs: [string, string][];
  series: [string, number][];
}

/**
 * The owners of the dataset's series by selector; undefined when this Warp 10 cannot say (no extension, or
 * a read token without the capability `archive.owners`): the index then records none, and ARCHIVE.FETCH
 * selects those series through the hot directory as before (docs/QUERYING.md).
 */
export async function seriesOwners(
  { runner, tokens }: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  selector: Selector,
  opts: { signal?: AbortSignal; warn: (message: string) => void },
): Promise<SeriesOwners | undefined> {
  let reply: OwnersReply;
  try {
    [reply] = await runner.run<[OwnersReply]>(
      'archive-owners',
      { token: tokens.read, class: selector.class, labels: selector.labels },
      opts.signal,
    );
  } catch (err) {
    if (!(err instanceof WarpScriptError)) throw err;
    opts.warn(`series owners not recorded in the month index: ARCHIVE.OWNERS failed: ${err.warpMessage}`);
    return undefined;
  }
  const out: SeriesOwners = new Map();
  for (const [selector, i] of reply.series) {
    const pair = reply.pairs[i];
    if (!pair) continue;
    const list = out.get(selector);
    if (list) list.push(pair);
    else out.set(selector, [pair]);
  }
  return out;
}
