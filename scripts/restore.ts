// npm run restore -- --month YYYY-MM --dataset NAME [--group NAME] [--series SELECTOR] [--from I --to I]
//                    [--target NAME] [--merge] [--dry-run] [--wait] [--json]
// Exit codes: 0 done (or started), 1 the restore failed or a server is unreachable, 2 bad input (nothing
// started, nothing written).
import { Client, Connection } from '@temporalio/client';
import { unlessBadInput } from '../src/cli/args.ts';
import { RESTORE_USAGE, parseRestoreArgs } from '../src/cli/restore-args.ts';
import { RestoreBusyError, followRestore, startRestore } from '../src/client/restore.ts';
import { runFailure } from '../src/client/archive.ts';
import { loadConfig } from '../src/config/load.ts';
import { ArchiveInputError } from '../src/archive/read.ts';
import { planRestore, type RestoreRequest } from '../src/restore/plan.ts';
import { humanBytes } from '../src/slack/message.ts';
import { applyStackEnv } from '../src/stack-env.ts';
import { StorePermanentError } from '../src/store/types.ts';
import { buildStore, withEnvOverrides } from '../src/worker/runtime.ts';
import type { RestoreProgress, RestoreResult } from '../src/workflows/restore.ts';

const say = (json: boolean, line: string) => (json ? console.error(line) : console.log(line));
const n = (x: number) => x.toLocaleString('en-US');

function progressLine(p: RestoreProgress): string {
  return (
    `  ${p.phase.padEnd(7)} batches ${p.checked}/${p.batches} checked, ${p.restored}/${p.batches} restored — ` +
    `${n(p.series)} series, ${n(p.written)}/${n(p.points)} points written`
  );
}

async function main(argv: string[]): Promise<number> {
  applyStackEnv();
  const input = unlessBadInput(() => {
    const config = withEnvOverrides(loadConfig());
    return { config, args: parseRestoreArgs(argv, config) };
  });
  if (!input) return 2;
  const { config, args } = input;
  const req: RestoreRequest = {
    group: args.group,
    dataset: args.dataset,
    month: args.month,
    ...(args.target !== undefined ? { target: args.target } : {}),
    ...(args.series !== undefined ? { series: args.series } : {}),
    ...(args.from !== undefined ? { from: args.from, to: args.to } : {}),
    ...(args.concurrency !== undefined ? { concurrency: args.concurrency } : {}),
    merge: args.merge,
    dryRun: args.dryRun,
  };

  // The store alone says whether there is anything to restore: bad input starts nothing.
  const store = unlessBadInput(() => buildStore(config));
  if (!store) return 2;
  try {
    const plan = await planRestore(store, req);
    say(
      args.json,
      `${req.group}/${req.dataset} ${req.month}: ${n(plan.series)} series, up to ${n(plan.points)} points in ${plan.batches.length} batch(es) to restore into ${req.target ?? 'the configured Warp 10'}`,
    );
  } catch (err) {
    if (err instanceof ArchiveInputError) {
      console.error(`${err.type}: ${err.message}`);
      if (args.json)
        console.log(JSON.stringify({ status: 'refused', error: { type: err.type, message: err.message } }));
      return 2;
    }
    console.error(`cannot read the archive store ${store.description}: ${(err as Error).message}`);
    // Keys refused or no such bucket: bad configuration, as final as a bad flag (nothing started).
    return err instanceof StorePermanentError ? 2 : 1;
  } finally {
    await store.close();
  }

  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '5 seconds' });
  } catch (err) {
    console.error(
      `cannot reach Temporal at ${config.temporal.address} (${(err as Error).message}). Start the local stack with npm run stack:up, or set temporal.address.`,
    );
    return 1;
  }
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    let run;
    try {
      run = await startRestore(client, config, req);
    } catch (err) {
      if (err instanceof RestoreBusyError) {
        console.error(err.message);
        return 2;
      }
      throw err;
    }
    say(args.json, `${run.started ? 'started' : 'already running, attached to'} ${run.workflowId}`);
    say(args.json, `Web UI: ${run.uiUrl}`);
    if (!args.wait) {
      if (args.json) console.log(JSON.stringify(run));
      return 0;
    }
    const started = Date.now();
    let result: RestoreResult;
    try {
      result = await followRestore(client.workflow.getHandle(run.workflowId, run.runId), (p) =>
        say(args.json, progressLine(p)),
      );
    } catch (err) {
      const { type, message } = runFailure(err);
      if (args.json) console.log(JSON.stringify({ ...run, status: 'failed', error: { type, message } }));
      else console.error(`FAILED: ${type}: ${message}`);
      return 1;
    }
    const seconds = (Date.now() - started) / 1000;
    if (args.json) {
      console.log(JSON.stringify({ ...run, seconds, ...result }));
    } else if (result.status === 'dry-run') {
      console.log('DRY RUN — nothing was written. Would restore:');
      for (const b of result.dryRun ?? []) {
        console.log(
          `  batch ${b.batch}: ${b.series} series, ${n(b.points)} points, ${humanBytes(b.bytes)} ← ${b.object}`,
        );
      }
      console.log(
        `  total: ${n(result.series)} series, ${n(result.points)} points, ${humanBytes(result.bytes)} into ${result.target}`,
      );
      if ((result.conflictCount ?? 0) > 0) {
        console.log(
          `  ${result.conflictCount} series already hold other points in the window (a restore needs --merge):`,
        );
        for (const c of result.conflicts ?? [])
          console.log(`    ${c.series}: ${n(c.livePoints)} live points`);
      }
      if (result.alreadyThere > 0)
        console.log(`  ${result.alreadyThere} series already hold exactly the archive's points`);
    } else {
      console.log(
        `restored ${n(result.series)} series, ${n(result.points)} points (${humanBytes(result.bytes)} of archive) from ${result.batches} batch(es) into ${result.target} in ${seconds.toFixed(1)}s`,
      );
    }
    return 0;
  } finally {
    await connection.close();
  }
}

if (process.argv.includes('--help')) {
  console.log(RESTORE_USAGE);
  process.exitCode = 0;
} else {
  process.exitCode = await main(process.argv.slice(2));
}
