// npm run start-archive -- --month YYYY-MM [--dataset NAME [--group NAME]] [--dry-run] [--wait] [--json]
// Exit codes: 0 done (or started), 1 the run failed or a server is unreachable, 2 bad input (nothing started).
import { Client, Connection } from '@temporalio/client';
import { monthManifestKey } from '../src/archive/layout.ts';
import { MonthManifestSchema } from '../src/archive/manifest.ts';
import { unlessBadInput } from '../src/cli/args.ts';
import { parseStartArchiveArgs, type StartArchiveArgs } from '../src/cli/start-archive-args.ts';
import { follow, runFailure, startArchive } from '../src/client/archive.ts';
import { loadConfig } from '../src/config/load.ts';
import type { OffloadConfig } from '../src/config/schema.ts';
import { humanBytes } from '../src/slack/message.ts';
import { applyStackEnv } from '../src/stack-env.ts';
import { NotFoundError, StorePermanentError } from '../src/store/types.ts';
import { buildStore, withEnvOverrides } from '../src/worker/runtime.ts';
import type { ArchiveProgress, ArchiveResult } from '../src/workflows/archive.ts';
import { resolveTemporal } from '../src/temporal/connection.ts';

const say = (json: boolean, line: string) => (json ? console.error(line) : console.log(line));

function progressLine(p: ArchiveProgress): string {
  return (
    `  ${p.phase.padEnd(7)} batches ${p.exported}/${p.batches} exported, ${p.verified} verified, ` +
    `${p.deleted} deleted — ${p.points.toLocaleString('en-US')} points, ${humanBytes(p.bytes)}`
  );
}

class StoreRefused extends Error {
  constructor(err: StorePermanentError) {
    super(`${err.message}. Nothing was started.`);
  }
}

/** The month's manifest, if it is committed; a store that refuses the keys or has no such bucket throws. */
async function alreadyArchived(config: OffloadConfig, args: StartArchiveArgs) {
  if (!args.dataset || !args.group) return undefined;
  const store = buildStore(config);
  try {
    const text = await store.getText(
      monthManifestKey({ group: args.group, dataset: args.dataset, month: args.month }),
    );
    return MonthManifestSchema.parse(JSON.parse(text));
  } catch (err) {
    // Keys refused or no such bucket: every run would fail the same way, so start nothing.
    if (err instanceof StorePermanentError && !(err instanceof NotFoundError)) throw new StoreRefused(err);
    return undefined; // not archived, or the store is unreachable from here: the workflow checks again
  } finally {
    await store.close();
  }
}

async function main(argv: string[]): Promise<number> {
  applyStackEnv();
  const input = unlessBadInput(() => {
    const config = withEnvOverrides(loadConfig());
    return { config, args: parseStartArchiveArgs(argv, config) };
  });
  if (!input) return 2;
  let { config } = input;
  const { args } = input;

  let done;
  try {
    done = args.dryRun ? undefined : await alreadyArchived(config, args);
  } catch (err) {
    if (!(err instanceof StoreRefused)) throw err;
    console.error(err.message);
    if (args.json)
      console.log(
        JSON.stringify({ status: 'refused', error: { type: 'StorePermanentError', message: err.message } }),
      );
    return 2;
  }
  if (done) {
    // Started anyway: the run rechecks the committed month for points written into it since.
    say(
      args.json,
      `${args.month} of ${args.group}/${args.dataset} is already archived (committed ${done.committedAt}): checking it for late points`,
    );
  }

  let connection: Connection;
  try {
    const { connection: options, namespace } = resolveTemporal(config.temporal);
    config = { ...config, temporal: { ...config.temporal, namespace } };
    connection = await Connection.connect({ ...options, connectTimeout: '5 seconds' });
  } catch (err) {
    console.error(
      `cannot reach Temporal at ${config.temporal.address} (${(err as Error).message}). Start the local stack with npm run stack:up, or set temporal.address.`,
    );
    return 1;
  }
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    if (!args.dataset) {
      const { startMonthly } = await import('../src/client/monthly.ts');
      const run = await startMonthly(client, config, {
        month: args.month,
        groups: args.group ? [args.group] : undefined,
        dryRun: args.dryRun,
        ignoreLateness: args.ignoreLateness,
      });
      say(args.json, `monthly run ${run.workflowId} started`);
      if (args.json && !args.wait) console.log(JSON.stringify(run));
      if (!args.wait) return 0;
      const result = await client.workflow.getHandle(run.workflowId, run.runId).result();
      if (args.json) console.log(JSON.stringify({ ...run, result }));
      else console.log(JSON.stringify(result, null, 2));
      return 0;
    }

    const ref = {
      group: args.group ?? '',
      dataset: args.dataset,
      month: args.month,
      dryRun: args.dryRun,
      ignoreLateness: args.ignoreLateness,
    };
    const run = await startArchive(client, config, ref);
    say(args.json, `${run.started ? 'started' : 'already running, attached to'} ${run.workflowId}`);
    say(args.json, `Web UI: ${run.uiUrl}`);
    if (!args.wait) {
      if (args.json) console.log(JSON.stringify(run));
      return 0;
    }
    const handle = client.workflow.getHandle(run.workflowId, run.runId);
    const started = Date.now();
    let result: ArchiveResult;
    try {
      result = await follow(handle, (p) => say(args.json, progressLine(p)));
    } catch (err) {
      const { type, message } = runFailure(err);
      if (args.json) console.log(JSON.stringify({ ...run, status: 'failed', error: { type, message } }));
      else {
        console.error(`FAILED: ${type}: ${message}`);
        if (type === 'ArchiveDamaged') {
          // The archive of a batch already deleted from Warp 10 is damaged: a resume cannot fix that.
          console.error(
            'The team is notified by the archiveFailure workflow; nothing was written over the damaged archive.',
          );
        } else {
          console.error(
            'Partial unverified objects are removed and the team notified by the archiveFailure workflow;',
          );
          console.error(
            `hot data is intact. Resume with: npm run start-archive -- --month ${args.month} --group ${ref.group} --dataset ${args.dataset} --wait`,
          );
        }
      }
      return 1;
    }
    const seconds = (Date.now() - started) / 1000;
    if (args.json) {
      console.log(JSON.stringify({ ...run, seconds, ...result }));
    } else if (result.series === 0 && result.status === 'dry-run') {
      // Most often a selector that matches nothing (a typo): say so rather than "archived 0 series".
      console.log(
        `nothing to archive: no series matching the selector of ${ref.group}/${args.dataset} has data in ${args.month}` +
          ". If you expected some, check that dataset's selector (class and labels) in the config.",
      );
    } else if (result.status === 'dry-run') {
      console.log(`DRY RUN — nothing was changed. Would archive then delete:`);
      for (const b of result.dryRun ?? []) {
        console.log(
          `  batch ${b.batch}: ${b.series} series, ${b.points.toLocaleString('en-US')} points → ${b.object}`,
        );
      }
      console.log(
        `  total: ${result.series} series, ${result.points.toLocaleString('en-US')} points in ${result.batches} batch(es)`,
      );
      if (result.wouldPurge !== undefined)
        console.log(
          `  then purge: ${result.wouldPurge} series with no point outside ${args.month} would leave Warp 10's directory (metadata only)`,
        );
    } else if (result.status === 'skipped') {
      // An empty month is most often a selector that matches nothing (a typo): say where to look.
      const hint =
        result.series === 0 && result.batches === 0
          ? " If you expected some, check that dataset's selector (class and labels) in the config."
          : '';
      console.log(`${result.reason ?? 'already archived'}; nothing was done.${hint}`);
      if (result.purge) console.log(purgeLine(result.purge));
    } else {
      console.log(
        `archived ${result.series} series, ${result.points.toLocaleString('en-US')} points, ${humanBytes(result.bytes)} in ${result.batches} batch(es) in ${seconds.toFixed(1)}s`,
      );
      if (result.purge) console.log(purgeLine(result.purge));
    }
    return 0;
  } finally {
    await connection.close();
  }
}

/** What the purge after the commit did: removed, and what it left alone and why. */
function purgeLine(p: NonNullable<ArchiveResult['purge']>): string {
  const left = [
    p.live ? `${p.live} still holding points` : '',
    p.revived ? `${p.revived} written to meanwhile (registered again)` : '',
    p.attributesChanged ? `${p.attributesChanged} with attributes changed since the export` : '',
    p.ambiguous ? `${p.ambiguous} sharing a selector` : '',
    p.outOfReach ? `${p.outOfReach} beyond the write token` : '',
    p.inProgress ? `${p.inProgress} in a month still being archived` : '',
  ].filter(Boolean);
  const later = p.revivedLater
    ? `; ${p.revivedLater} series of the previous purge got a point since and were registered again`
    : '';
  return `purged the metadata of ${p.purged} emptied series${left.length ? `; kept ${left.join(', ')}` : ''}${later}`;
}

process.exitCode = await main(process.argv.slice(2));
