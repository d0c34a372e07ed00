// npm run erase -- --selector SELECTOR [--from YYYY-MM] [--to YYYY-MM] [--hot] [--dry-run] [--wait] [--json]
// npm run erase -- --list [--json]
// Exit codes: 0 done (or started), 1 the erasure failed or a server is unreachable, 2 bad input (nothing
// started, nothing changed).
import { Client, Connection } from '@temporalio/client';
import { listErasures } from '../src/activities/erase.ts';
import { unlessBadInput } from '../src/cli/args.ts';
import { ERASE_USAGE, parseEraseArgs } from '../src/cli/erase-args.ts';
import { followErase, startErase } from '../src/client/erase.ts';
import { runFailure } from '../src/client/archive.ts';
import { loadConfig } from '../src/config/load.ts';
import { humanBytes } from '../src/slack/message.ts';
import { applyStackEnv } from '../src/stack-env.ts';
import { buildRuntime, buildStore, withEnvOverrides } from '../src/worker/runtime.ts';
import { WarpScriptError } from '../src/warp10/client.ts';
import { quoted } from '../src/quoted.ts';
import type { EraseProgress, EraseResult } from '../src/workflows/erase.ts';

const say = (json: boolean, line: string) => (json ? console.error(line) : console.log(line));
const n = (x: number) => x.toLocaleString('en-US');

const progressLine = (p: EraseProgress) =>
  `  ${p.phase.padEnd(7)} ${p.done}/${p.months} month(s)${p.current ? ` (at ${p.current})` : ''} — ` +
  `${n(p.series)} series, ${n(p.points)} points, ${n(p.objects)} object(s)`;

async function main(argv: string[]): Promise<number> {
  applyStackEnv();
  const input = unlessBadInput(() => ({
    config: withEnvOverrides(loadConfig()),
    args: parseEraseArgs(argv),
  }));
  if (!input) return 2;
  const { config, args } = input;

  if (args.list) {
    const store = unlessBadInput(() => buildStore(config));
    if (!store) return 2;
    try {
      const records = await listErasures(store);
      if (args.json) console.log(JSON.stringify(records));
      else if (records.length === 0) console.log(`no erasure recorded in ${store.description}`);
      for (const r of args.json ? [] : records) {
        console.log(
          `${r.erasedAt}  ${r.id}  ${n(r.series)} series, ${n(r.points)} points, ${n(r.objects)} object(s) in ${r.months.length} month(s)${r.hot ? ', hot Warp 10 too' : ''} — selector HMAC ${r.selectorHmac.slice(0, 16)}…`,
        );
      }
      return 0;
    } finally {
      await store.close();
    }
  }

  // Warp 10's matcher decides which series go: a selector it refuses starts nothing.
  const rt = unlessBadInput(() => buildRuntime(config));
  if (!rt) return 2;
  const key = rt.erasureKey;
  try {
    await rt.runner.run('erase-match', { selector: args.selector, series: [['erase.check{}', {}]] });
  } catch (err) {
    if (err instanceof WarpScriptError) {
      console.error(
        `Warp 10 refuses the selector ${quoted(args.selector)}: ${err.warpMessage}. Fix --selector (Warp 10's syntax, Java regexes); nothing was started.`,
      );
      return 2;
    }
    console.error(
      `cannot reach Warp 10 at ${config.warp10.url} to check the selector: ${(err as Error).message}`,
    );
    return 1;
  } finally {
    await rt.close();
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
    const req = {
      selector: args.selector,
      ...(args.from !== undefined ? { from: args.from } : {}),
      ...(args.to !== undefined ? { to: args.to } : {}),
      hot: args.hot,
      dryRun: args.dryRun,
    };
    const run = await startErase(client, config, req, key);
    say(args.json, `${run.started ? 'started' : 'already running, attached to'} ${run.workflowId}`);
    say(args.json, `Web UI: ${run.uiUrl}`);
    if (!args.wait) {
      if (args.json) console.log(JSON.stringify(run));
      return 0;
    }
    const started = Date.now();
    let result: EraseResult;
    try {
      result = await followErase(client.workflow.getHandle(run.workflowId, run.runId), (p) =>
        say(args.json, progressLine(p)),
      );
    } catch (err) {
      const { type, message } = runFailure(err);
      // Bad input found by Warp 10 (a selector its matcher refuses): nothing was changed.
      const code = type === 'InvalidInput' ? 2 : 1;
      if (args.json) console.log(JSON.stringify({ ...run, status: 'failed', error: { type, message } }));
      else console.error(`${code === 2 ? 'REFUSED' : 'FAILED'}: ${type}: ${message}`);
      return code;
    }
    const seconds = (Date.now() - started) / 1000;
    if (args.json) {
      console.log(JSON.stringify({ ...run, seconds, ...result }));
      return 0;
    }
    const touched = result.months.filter((m) => m.status === 'erased' || m.status === 'would erase');
    if (result.status === 'dry-run') console.log('DRY RUN — nothing was changed. Would erase:');
    for (const m of touched) {
      console.log(
        `  ${m.group}/${m.dataset} ${m.month}: ${n(m.series)} series, ${n(m.points)} points, ${m.objects} object(s) of ${m.batches} batch(es) (${humanBytes(m.bytesRead)})`,
      );
    }
    console.log(
      `${result.status === 'dry-run' ? 'would erase' : 'erased'} ${n(result.series)} series, ${n(result.points)} points, ${n(result.objects)} object(s) in ${touched.length} of ${result.months.length} archived month(s)${result.hotSeries !== undefined ? `; hot Warp 10: ${n(result.hotSeries)} series` : ''} in ${seconds.toFixed(1)}s`,
    );
    for (const u of result.uncommitted) {
      console.log(
        `  not erased: ${u.group}/${u.dataset} ${u.month} is not committed (its archive run is unfinished): erase again once it is`,
      );
    }
    if (result.record) console.log(`record: ${result.record}`);
    return 0;
  } finally {
    await connection.close();
  }
}

if (process.argv.includes('--help')) {
  console.log(ERASE_USAGE);
  process.exitCode = 0;
} else {
  process.exitCode = await main(process.argv.slice(2));
}
