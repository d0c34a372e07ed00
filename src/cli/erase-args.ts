// Flags of `npm run erase`, validated before anything is started.
import { SelectorError } from '../archive/series-name.ts';
import { MonthError, parseMonth } from '../month.ts';
import { checkEraseSelector, type EraseRequest } from '../activities/erase.ts';
import { UsageError, parseFlags } from './args.ts';

export const ERASE_USAGE = `usage: npm run erase -- --selector SELECTOR [--from YYYY-MM] [--to YYYY-MM] [--hot] [--dry-run] [--wait] [--json]
       npm run erase -- --list [--json]

  --selector SELECTOR  the series to forget, a Warp 10 selector such as 'client.http.requests{customer=acme}'
                       (matched by Warp 10 against each archived series' class, labels and attributes)
  --from/--to YYYY-MM  only the archived months from/to these (both included); default: every month
  --hot                also delete the series from the hot Warp 10, data and metadata (all time)
  --dry-run            list the months, objects, series and points it would erase; change nothing (implies --wait)
  --wait               follow progress until the end; exit 1 if the erasure fails
  --json               print a machine-readable summary on stdout
  --list               list the erasure records kept in the archive store (never a selector: its keyed hash)
Exit codes: 0 done (or started), 1 the erasure failed, 2 bad input (nothing started, nothing changed).
Configuration: OFFLOAD_CONFIG (default config/local.yaml).`;

export interface EraseArgs extends EraseRequest {
  dryRun: boolean;
  hot: boolean;
  wait: boolean;
  json: boolean;
  list: boolean;
}

export function parseEraseArgs(argv: string[]): EraseArgs {
  const values = parseFlags(
    argv,
    {
      selector: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      hot: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    ERASE_USAGE,
  );
  if (values.help) throw new UsageError(ERASE_USAGE);
  if (values.list) {
    if (values.selector !== undefined || values.from !== undefined || values.to !== undefined || values.hot) {
      throw new UsageError(`--list takes no other flag but --json.\n\n${ERASE_USAGE}`);
    }
    return { selector: '', dryRun: false, hot: false, wait: false, json: values.json, list: true };
  }
  if (values.selector === undefined || values.selector.trim() === '') {
    throw new UsageError(
      `--selector is required (for example --selector 'client.http.requests{customer=acme}').\n\n${ERASE_USAGE}`,
    );
  }
  try {
    checkEraseSelector(values.selector);
  } catch (err) {
    if (err instanceof SelectorError) throw new UsageError(`--selector: ${err.message}`);
    throw err;
  }
  for (const [flag, v] of [
    ['--from', values.from],
    ['--to', values.to],
  ] as const) {
    if (v === undefined) continue;
    try {
      parseMonth(v);
    } catch (err) {
      if (err instanceof MonthError) throw new UsageError(`${flag}: ${err.message}`);
      throw err;
    }
  }
  if (values.from !== undefined && values.to !== undefined && values.from > values.to) {
    throw new UsageError(`--from ${values.from} is after --to ${values.to}: give the earlier month first.`);
  }
  return {
    selector: values.selector.trim(),
    ...(values.from !== undefined ? { from: values.from } : {}),
    ...(values.to !== undefined ? { to: values.to } : {}),
    hot: values.hot,
    dryRun: values['dry-run'],
    wait: values.wait || values['dry-run'],
    json: values.json,
    list: false,
  };
}
