// An erasure's --hot part: the selected series deleted from the hot Warp 10, data and metadata
// (erase-hot.mc2). The archive's erasure is separate (src/activities/erase.ts): this one touches no store.
import { toFailure } from '../failures.ts';
import type { Warp10ActivityDeps } from './shared.ts';

export interface EraseHotResult {
  /** Series deleted (in a dry run: that would be). */
  series: number;
}

export async function eraseHot(
  { runner, tokens }: Pick<Warp10ActivityDeps, 'runner' | 'tokens'>,
  input: { selector: string; dryRun: boolean },
  signal?: AbortSignal,
): Promise<EraseHotResult> {
  try {
    const [n] = await runner.run<[number]>(
      'erase-hot',
      { writeToken: tokens.write, selector: input.selector, dryRun: input.dryRun },
      signal,
    );
    return { series: Number(n) };
  } catch (err) {
    throw toFailure(err);
  }
}
