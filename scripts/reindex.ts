// npm run reindex -- [--group NAME] [--dataset NAME] [--month YYYY-MM] [--dry-run] [--json]
// Writes the lookup index of every committed month that has none (months committed before indexes), with
// each series' owner and producer when Warp 10 can say (ARCHIVE.OWNERS), then rebuilds the catalog of the
// datasets it went through. Idempotent and resumable.
// Exit codes: 0 done, 1 a month could not be indexed (named), 2 bad input.
import { UsageError, parseFlags, unlessBadInput } from '../src/cli/args.ts';
import { loadConfig } from '../src/config/load.ts';
import { committedMonths, reindexMonth, type ReindexResult } from '../src/archive/reindex.ts';
import { publishMonths, readCatalog } from '../src/archive/catalog-store.ts';
import { CATALOG_KEY } from '../src/archive/catalog.ts';
import { seriesOwners } from '../src/activities/warp10/owners.ts';
import { MonthError, parseMonth } from '../src/month.ts';
import { applyStackEnv } from '../src/stack-env.ts';
import { buildRuntime, withEnvOverrides } from '../src/worker/runtime.ts';

export const USAGE = `usage: npm run reindex -- [--group NAME] [--dataset NAME] [--month YYYY-MM] [--dry-run] [--json]

  --group NAME      only this group's months
  --dataset NAME    only this dataset's months
  --month YYYY-MM   only this month
  --dry-run         say which months would get an index, write nothing
  --json            print one JSON line a month on stdout
Writes the lookup index of each committed month that has none (docs/ARCHIVE-LAYOUT.md), with its series'
owners from Warp 10 (ARCHIVE.OWNERS; without it, ARCHIVE.FETCH selects those series through FIND). A month
that has an index is left as it is: run it again at will. Then rebuilds the catalog (catalog.json) of the
datasets it went through from their committed months. Run it while no archive commits.
Exit codes: 0 done, 1 a month could not be indexed, 2 bad input. Configuration: OFFLOAD_CONFIG.`;

async function main(argv: string[]): Promise<number> {
  applyStackEnv();
  const values = unlessBadInput(() =>
    parseFlags(
      argv,
      {
        group: { type: 'string' },
        dataset: { type: 'string' },
        month: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      USAGE,
    ),
  );
  if (!values) return 2;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const ok = unlessBadInput(() => {
    if (values.month !== undefined) {
      try {
        parseMonth(values.month);
      } catch (err) {
        if (err instanceof MonthError) throw new UsageError(err.message);
        throw err;
      }
    }
    return true;
  });
  if (!ok) return 2;
  const rt = unlessBadInput(() => buildRuntime(withEnvOverrides(loadConfig())));
  if (!rt) return 2;
  let failed = 0;
  try {
    const months = (await committedMonths(rt.store)).filter(
      (m) =>
        (values.group === undefined || m.group === values.group) &&
        (values.dataset === undefined || m.dataset === values.dataset) &&
        (values.month === undefined || m.month === values.month),
    );
    if (months.length === 0) {
      console.error(`no committed month in ${rt.store.description} matches; nothing to do.`);
      return 0;
    }
    for (const ref of months) {
      let r: ReindexResult;
      try {
        r = await reindexMonth(rt.store, ref, {
          dryRun: values['dry-run'],
          owners: (selector) =>
            seriesOwners({ runner: rt.runner, tokens: rt.tokens }, selector, {
              warn: (message) => console.error(`${ref.group}/${ref.dataset}/${ref.month}: ${message}`),
            }),
        });
      } catch (err) {
        failed++;
        console.error(`${ref.group}/${ref.dataset}/${ref.month}: not indexed: ${(err as Error).message}`);
        continue;
      }
      if (values.json) console.log(JSON.stringify(r));
      else {
        const what =
          r.series === undefined
            ? ''
            : ` (${r.series} series${r.owners === false ? ', owners not recorded' : ''})`;
        console.log(`${r.group}/${r.dataset}/${r.month}: ${r.status}${what}`);
      }
    }
    // The catalog of every dataset touched, rebuilt from all its committed months (queries find months
    // through it: docs/ARCHIVE-LAYOUT.md#the-catalog).
    const datasets = new Set(months.map((m) => `${m.group}/${m.dataset}`));
    const all = (await committedMonths(rt.store)).filter((m) => datasets.has(`${m.group}/${m.dataset}`));
    // Unfiltered, datasets the catalog names that have no committed month left leave it.
    if (values.group === undefined && values.dataset === undefined && values.month === undefined) {
      for (const d of (await readCatalog(rt.store).catch(() => undefined))?.datasets ?? []) {
        if (datasets.has(`${d.group}/${d.dataset}`)) continue;
        datasets.add(`${d.group}/${d.dataset}`);
        all.push({ group: d.group, dataset: d.dataset, month: d.firstMonth ?? '1970-01' });
      }
    }
    if (values['dry-run']) {
      console.log(`catalog: would list ${all.length} month(s) of ${datasets.size} dataset(s)`);
    } else {
      const r = await publishMonths(rt.store, all, { rebuild: true });
      const line = { catalog: CATALOG_KEY, months: r.listed, datasets: datasets.size };
      if (values.json) console.log(JSON.stringify(line));
      else
        console.log(`catalog: ${r.listed} month(s) of ${datasets.size} dataset(s) listed in ${CATALOG_KEY}`);
    }
  } finally {
    await rt.close();
  }
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
