// npm run verify-archive -- --month YYYY-MM [--dataset NAME] [--group NAME] [--json]
// Audits archived months from the store alone (no Warp 10 needed).
// Exit codes: 0 every audited month is whole, 1 a problem (each named with its object), 2 bad input.
import { archivedDatasets, auditMonth, type MonthAudit } from '../src/archive/audit.ts';
import { UsageError, parseFlags, unlessBadInput } from '../src/cli/args.ts';
import { loadConfig } from '../src/config/load.ts';
import { MonthError, parseMonth } from '../src/month.ts';
import { humanBytes } from '../src/slack/message.ts';
import { applyStackEnv } from '../src/stack-env.ts';
import { StoreError } from '../src/store/types.ts';
import { buildStore, withEnvOverrides } from '../src/worker/runtime.ts';

export const USAGE = `usage: npm run verify-archive -- --month YYYY-MM [--dataset NAME] [--group NAME] [--json]

  --month YYYY-MM   the archived month to audit
  --dataset NAME    one dataset (configured, or found by discovery: then give --group); default: every
                    dataset of the configured groups with an archive of that month
  --group NAME      only this group
  --json            print the audit as JSON on stdout
Reads the archive store only. Exit codes: 0 whole, 1 a problem (named with its object), 2 bad input.
Configuration: OFFLOAD_CONFIG (default config/local.yaml).`;

async function main(argv: string[]): Promise<number> {
  applyStackEnv();
  const values = unlessBadInput(() =>
    parseFlags(
      argv,
      {
        month: { type: 'string' },
        group: { type: 'string' },
        dataset: { type: 'string' },
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
  const month = unlessBadInput(() => {
    if (!values.month) throw new UsageError(`--month is required.\n\n${USAGE}`);
    try {
      parseMonth(values.month);
    } catch (err) {
      if (err instanceof MonthError) throw new UsageError(err.message);
      throw err;
    }
    return values.month;
  });
  if (month === undefined) return 2;
  const opened = unlessBadInput(() => {
    const config = withEnvOverrides(loadConfig());
    return { config, store: buildStore(config) };
  });
  if (!opened) return 2;
  const { config, store } = opened;
  try {
    const groupNames = config.groups.map((g) => g.name);
    if (values.group !== undefined && !groupNames.includes(values.group)) {
      console.error(
        `unknown group "${values.group}"; configured groups: ${groupNames.join(', ')}. Fix --group.`,
      );
      return 2;
    }
    const refs: { group: string; dataset: string; month: string }[] = [];
    try {
      for (const group of values.group !== undefined ? [values.group] : groupNames) {
        for (const dataset of await archivedDatasets(store, group, month)) {
          if (values.dataset === undefined || values.dataset === dataset)
            refs.push({ group, dataset, month });
        }
      }
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      console.error(`cannot read the archive store ${store.description}: ${err.message}`);
      // Keys refused or no such bucket: bad configuration (2); an outage is a problem to retry (1).
      return err.retryable ? 1 : 2;
    }
    if (refs.length === 0) {
      const what = values.dataset !== undefined ? `dataset "${values.dataset}"` : 'any dataset';
      console.error(
        `no archive of ${what} for ${month} in ${store.description}${values.group ? ` (group ${values.group})` : ''}; check --month and --dataset (a month is archived by npm run start-archive).`,
      );
      return 2;
    }
    if (values.dataset !== undefined && new Set(refs.map((r) => r.group)).size > 1) {
      console.error(
        `dataset "${values.dataset}" has archives in groups ${refs.map((r) => r.group).join(' and ')}: add --group.`,
      );
      return 2;
    }
    const audits: MonthAudit[] = [];
    for (const ref of refs) {
      const started = Date.now();
      const a = await auditMonth(store, ref);
      audits.push(a);
      if (!values.json) {
        const head = `${a.group}/${a.dataset} ${a.month}: ${a.batches} batch(es), ${a.series.toLocaleString('en-US')} series, ${a.points.toLocaleString('en-US')} points, ${humanBytes(a.bytes)}`;
        if (a.ok) console.log(`OK      ${head} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
        else {
          console.log(`BROKEN  ${head}`);
          for (const p of a.problems) console.log(`  ${p.object}: ${p.problem}`);
        }
      }
    }
    const whole = audits.every((a) => a.ok);
    if (values.json) console.log(JSON.stringify({ ok: whole, store: store.description, audits }, null, 2));
    return whole ? 0 : 1;
  } finally {
    await store.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
