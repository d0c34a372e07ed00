// Flags of `npm run restore`, validated against the configuration before anything is started.
import type { OffloadConfig } from '../config/schema.ts';
import { MonthError, parseMonth } from '../month.ts';
import { ArchiveInputError } from '../archive/read.ts';
import { parseInstantUs, parseSeriesSelector, type RestoreRequest } from '../restore/plan.ts';
import { quoted } from '../quoted.ts';
import { UsageError, parseFlags } from './args.ts';

export const RESTORE_USAGE = `usage: npm run restore -- --month YYYY-MM --dataset NAME [--group NAME] [--series SELECTOR]
         [--from INSTANT --to INSTANT] [--target NAME] [--merge] [--concurrency N] [--dry-run] [--wait] [--json]

  --month YYYY-MM      the archived month to bring back
  --dataset NAME       the archived dataset (configured, or found by discovery: then give --group)
  --group NAME         the dataset's group (needed when the name is not a configured dataset of one group)
  --series SELECTOR    only the series matching a Warp 10 selector, e.g. 'client.http.requests{owner=acme}'
  --from/--to INSTANT  only the window [from, to) inside the month, ISO-8601 with a zone (2026-03-10T00:00:00Z)
  --target NAME        a Warp 10 of the config's restoreTargets; default: the configured warp10
  --merge              also write into series that already hold other points in the window
  --concurrency N      batches checked or written at once, 1 to 16 (default 2)
  --dry-run            print what would be written (series, points, bytes); write nothing (implies --wait)
  --wait               follow progress until the end; exit 1 if the restore fails
  --json               print a machine-readable summary on stdout
Exit codes: 0 done (or started), 1 the restore failed, 2 bad input (nothing written).
Configuration: OFFLOAD_CONFIG (default config/local.yaml).`;

export interface RestoreArgs extends RestoreRequest {
  dryRun: boolean;
  merge: boolean;
  wait: boolean;
  json: boolean;
}

export function parseRestoreArgs(argv: string[], config: OffloadConfig): RestoreArgs {
  const values = parseFlags(
    argv,
    {
      month: { type: 'string' },
      group: { type: 'string' },
      dataset: { type: 'string' },
      series: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      target: { type: 'string' },
      merge: { type: 'boolean', default: false },
      concurrency: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    RESTORE_USAGE,
  );
  if (values.help) throw new UsageError(RESTORE_USAGE);
  if (!values.month)
    throw new UsageError(`--month is required (for example --month 2026-03).\n\n${RESTORE_USAGE}`);
  if (!values.dataset) throw new UsageError(`--dataset is required.\n\n${RESTORE_USAGE}`);
  try {
    parseMonth(values.month);
  } catch (err) {
    if (err instanceof MonthError) throw new UsageError(err.message);
    throw err;
  }
  const dataset = values.dataset;
  let group = values.group;
  if (group !== undefined && !config.groups.some((g) => g.name === group)) {
    throw new UsageError(
      `unknown group ${quoted(group)}; configured groups: ${config.groups.map((g) => g.name).join(', ')}. Fix --group.`,
    );
  }
  if (group === undefined) {
    const owners = config.groups.filter((g) => g.datasets.some((d) => d.name === dataset));
    if (owners.length === 0) {
      throw new UsageError(
        `unknown dataset ${quoted(dataset)}: it is not a configured dataset; fix --dataset, or for a dataset found by discovery add --group.`,
      );
    }
    if (owners.length > 1) {
      throw new UsageError(
        `dataset "${dataset}" exists in groups ${owners.map((g) => g.name).join(' and ')}: add --group.`,
      );
    }
    group = owners[0]?.name;
  }
  if (values.target !== undefined && !config.restoreTargets?.some((t) => t.name === values.target)) {
    const known = (config.restoreTargets ?? []).map((t) => t.name);
    throw new UsageError(
      `unknown restore target ${quoted(values.target)}; ${known.length > 0 ? `configured: ${known.join(', ')}` : 'the configuration lists no restoreTargets'}. Fix --target, or add the target to restoreTargets in the config.`,
    );
  }
  let concurrency: number | undefined;
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency);
    if (!/^\d+$/.test(values.concurrency) || concurrency < 1 || concurrency > 16) {
      throw new UsageError(
        `--concurrency: expected an integer from 1 to 16, found ${JSON.stringify(values.concurrency)}.`,
      );
    }
  }
  if ((values.from === undefined) !== (values.to === undefined)) {
    throw new UsageError('--from and --to go together: give both (the window is [from, to)).');
  }
  try {
    if (values.series !== undefined) parseSeriesSelector(values.series);
    if (values.from !== undefined) parseInstantUs(values.from, '--from');
    if (values.to !== undefined) parseInstantUs(values.to, '--to');
  } catch (err) {
    if (err instanceof ArchiveInputError) throw new UsageError(err.message);
    throw err;
  }
  return {
    month: values.month,
    group: group ?? '',
    dataset,
    ...(values.target !== undefined ? { target: values.target } : {}),
    ...(values.series !== undefined ? { series: values.series } : {}),
    ...(values.from !== undefined ? { from: values.from, to: values.to } : {}),
    ...(concurrency !== undefined ? { concurrency } : {}),
    merge: values.merge,
    dryRun: values['dry-run'],
    wait: values.wait || values['dry-run'],
    json: values.json,
  };
}
