// Flags of `npm run start-archive`, validated before anything is started.
import type { OffloadConfig } from '../config/schema.ts';
import { MonthError, assertArchivableMonth, parseMonth, settledAt } from '../month.ts';
import { quoted } from '../quoted.ts';
import { UsageError, parseFlags } from './args.ts';

export const USAGE = `usage: npm run start-archive -- --month YYYY-MM [--dataset NAME [--group NAME]] [--dry-run] [--wait] [--json] [--ignore-lateness]

  --month YYYY-MM   the month to archive (a complete month, in the configured timezone)
  --dataset NAME    one dataset; without it, the whole monthly run (every group and dataset)
  --group NAME      the dataset's group (needed only when two groups have a dataset of that name)
  --dry-run         plan and print what would be archived and deleted; change nothing (implies --wait)
  --wait            follow progress until the end; exit 1 if the run fails
  --json            print a machine-readable summary on stdout
  --ignore-lateness archive now even if the month ended less than lateData.lateness ago
Configuration: OFFLOAD_CONFIG (default config/local.yaml).`;

export interface StartArchiveArgs {
  month: string;
  group?: string;
  dataset?: string;
  dryRun: boolean;
  wait: boolean;
  json: boolean;
  ignoreLateness: boolean;
}

/** Parses and checks the flags against the configuration; throws UsageError with what to fix. */
export function parseStartArchiveArgs(
  argv: string[],
  config: OffloadConfig,
  now = new Date(),
): StartArchiveArgs {
  const values = parseFlags(
    argv,
    {
      month: { type: 'string' },
      group: { type: 'string' },
      dataset: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'ignore-lateness': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    USAGE,
  );
  if (values.help) throw new UsageError(USAGE);
  if (!values.month) throw new UsageError(`--month is required (for example --month 2026-10).\n\n${USAGE}`);
  try {
    parseMonth(values.month);
    assertArchivableMonth(values.month, now, config.timezone);
  } catch (err) {
    if (err instanceof MonthError) throw new UsageError(err.message);
    throw err;
  }
  const settled = settledAt(config, values.month);
  if (!values['dry-run'] && !values['ignore-lateness'] && now < settled) {
    throw new UsageError(
      `${values.month} ended less than lateData.lateness (${config.lateData.lateness}) ago: late points may ` +
        `still arrive until ${settled.toISOString()}. Run it after that, or add --ignore-lateness to archive it now.`,
    );
  }
  let group = values.group;
  const dataset = values.dataset;
  if (group !== undefined && !config.groups.some((g) => g.name === group)) {
    throw new UsageError(
      `unknown group ${quoted(group)}; configured groups: ${config.groups.map((g) => g.name).join(', ')}. Fix --group.`,
    );
  }
  if (dataset !== undefined) {
    const owners = config.groups.filter(
      (g) => (group === undefined || g.name === group) && g.datasets.some((d) => d.name === dataset),
    );
    if (owners.length === 0) {
      const scope = config.groups.filter((g) => group === undefined || g.name === group);
      const known = scope.flatMap((g) => g.datasets.map((d) => `${g.name}/${d.name}`));
      const discovered = scope.some((g) => g.discover)
        ? ' (datasets found by discovery are archived by the monthly run: omit --dataset)'
        : '';
      throw new UsageError(
        `unknown dataset ${quoted(dataset)}${group ? ` in group "${group}"` : ''}; configured: ${known.join(', ') || 'none'}${discovered}. Fix --dataset, or add the dataset to the config.`,
      );
    }
    if (owners.length > 1) {
      throw new UsageError(
        `dataset "${dataset}" exists in groups ${owners.map((g) => g.name).join(' and ')}: add --group.`,
      );
    }
    group = owners[0]?.name;
  }
  return {
    month: values.month,
    group,
    dataset,
    dryRun: values['dry-run'],
    wait: values.wait || values['dry-run'],
    json: values.json,
    ignoreLateness: values['ignore-lateness'],
  };
}
