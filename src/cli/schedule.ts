// `npm run schedule -- <command>`: argument checking and the commands themselves, apart from the
// process wiring in scripts/schedule.ts so tests can run them with their own client and config.
// Exit codes: 0 done, 1 failed (Temporal unreachable, no schedule, a backfilled month failed),
// 2 bad usage or configuration.
import { parseArgs } from 'node:util';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { ConfigError, findGroup, loadConfig } from '../config/load.ts';
import type { OffloadConfig } from '../config/schema.ts';
import { SecretError } from '../config/secrets.ts';
import { MonthError, parseMonth } from '../month.ts';
import { withEnvOverrides } from '../worker/runtime.ts';
import { backfill, backfillMonths } from '../client/monthly.ts';
import {
  ScheduleNotFoundError,
  createOrUpdateSchedule,
  describeSchedule,
  describeSpec,
  formatScheduleReport,
  formatTime,
  scheduleConfig,
  scheduleHandle,
  updateSchedule,
} from '../client/schedule.ts';
import { resolveTemporal } from '../temporal/connection.ts';

export const USAGE = `usage: npm run schedule -- <command> [options]

commands:
  create      create the monthly schedule, or update it to match the config (idempotent)
  update      update the existing schedule to match the config
  describe    show the schedule, its next run times and its recent runs
  pause       pause it (--note "why")
  unpause     resume it (--note "why")
  trigger     start a run now (skipped while a run is in flight)
  delete      delete the schedule (runs in flight go on)
  backfill    --from YYYY-MM --to YYYY-MM [--group NAME]... [--dry-run]
              archive every month of the range not archived yet, oldest first, one month at a time

options:
  --config PATH   the offloader config (default: $OFFLOAD_CONFIG, then config/local.yaml)`;

const COMMANDS = [
  'create',
  'update',
  'describe',
  'pause',
  'unpause',
  'trigger',
  'delete',
  'backfill',
] as const;
export type ScheduleCommand = (typeof COMMANDS)[number];

export interface ScheduleArgs {
  command: ScheduleCommand;
  config?: string;
  note?: string;
  from?: string;
  to?: string;
  groups?: string[];
  dryRun?: boolean;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses and checks the command line; throws UsageError with a message for people. */
export function parseScheduleArgs(argv: string[]): ScheduleArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        note: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        group: { type: 'string', multiple: true },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new UsageError('');
  const [command, ...extra] = positionals;
  if (command === undefined) throw new UsageError(`expected a command: ${COMMANDS.join(', ')}`);
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(`unknown command "${command}": expected one of ${COMMANDS.join(', ')}`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument(s): ${extra.join(' ')}`);
  const cmd = command as ScheduleCommand;
  const only = (flags: string[], allowed: ScheduleCommand[]) => {
    for (const f of flags) {
      if (values[f as keyof typeof values] !== undefined && !allowed.includes(cmd)) {
        throw new UsageError(`--${f} is only for ${allowed.join(' and ')}`);
      }
    }
  };
  only(['from', 'to', 'group', 'dry-run'], ['backfill']);
  only(['note'], ['pause', 'unpause']);
  const args: ScheduleArgs = { command: cmd };
  if (values.config !== undefined) args.config = values.config;
  if (values.note !== undefined) args.note = values.note;
  if (cmd === 'backfill') {
    if (values.from === undefined || values.to === undefined) {
      throw new UsageError('backfill needs --from YYYY-MM and --to YYYY-MM (the range, both included)');
    }
    for (const [flag, v] of [
      ['--from', values.from],
      ['--to', values.to],
    ] as const) {
      try {
        parseMonth(v);
      } catch (err) {
        throw new UsageError(`${flag}: ${(err as Error).message}`);
      }
    }
    if (values.from > values.to) {
      throw new UsageError(
        `--from ${values.from} is after --to ${values.to}: backfill runs oldest first, from ≤ to`,
      );
    }
    args.from = values.from;
    args.to = values.to;
    if (values.group) args.groups = values.group.flatMap((g) => g.split(',')).filter((g) => g !== '');
    if (values['dry-run']) args.dryRun = true;
  }
  return args;
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/**
 * Runs one command; returns the exit code. `deps` replaces the config file and the connection (tests);
 * without them the config is loaded and Temporal is dialled from it.
 */
export async function runScheduleCli(
  argv: string[],
  io: Io = { out: (l) => console.log(l), err: (l) => console.error(l) },
  deps: { client?: Client; config?: OffloadConfig; now?: Date } = {},
): Promise<number> {
  let args: ScheduleArgs;
  let config: OffloadConfig;
  try {
    args = parseScheduleArgs(argv);
    config = deps.config ?? withEnvOverrides(loadConfig(args.config));
    if (args.command === 'backfill') {
      for (const g of args.groups ?? []) findGroup(config, g);
      backfillMonths(config, args.from ?? '', args.to ?? '', deps.now);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) io.err(`error: ${err.message}\n`);
      io.err(USAGE);
      return 2;
    }
    if (err instanceof ConfigError || err instanceof SecretError || err instanceof MonthError) {
      io.err(`error: ${err.message}`);
      return 2;
    }
    throw err;
  }

  let connection: Connection | undefined;
  let client = deps.client;
  if (!client) {
    try {
      const { connection: options, namespace } = resolveTemporal(config.temporal);
      config = { ...config, temporal: { ...config.temporal, namespace } };
      connection = await Connection.connect({ ...options, connectTimeout: '5 seconds' });
    } catch (err) {
      io.err(
        `cannot reach Temporal at ${config.temporal.address} (${(err as Error).message}). Start the local stack with npm run stack:up, or set temporal.address.`,
      );
      return 1;
    }
    client = new Client({ connection, namespace: config.temporal.namespace });
  }
  try {
    return await run(args, config, client, io, deps.now);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      io.err(
        `no schedule ${scheduleConfig(config).id} in namespace ${config.temporal.namespace}: run \`npm run schedule -- create\` first`,
      );
      return 1;
    }
    throw err;
  } finally {
    await connection?.close();
  }
}

async function run(
  args: ScheduleArgs,
  config: OffloadConfig,
  client: Client,
  io: Io,
  now?: Date,
): Promise<number> {
  const id = scheduleConfig(config).id;
  const handle = scheduleHandle(client, config);
  const tz = config.timezone;
  switch (args.command) {
    case 'create': {
      const what = await createOrUpdateSchedule(client, config);
      io.out(`schedule ${id} ${what}: monthlyOffload ${describeSpec(config)}`);
      const d = await describeSchedule(client, config);
      for (const t of d.nextRuns.slice(0, 3)) io.out(`  next: ${formatTime(t, tz)}`);
      if (d.paused) io.out('  (paused: npm run schedule -- unpause)');
      return 0;
    }
    case 'update':
      await updateSchedule(client, config);
      io.out(`schedule ${id} updated: monthlyOffload ${describeSpec(config)}`);
      return 0;
    case 'describe':
      io.out(formatScheduleReport(await describeSchedule(client, config), tz));
      return 0;
    case 'pause':
      await handle.pause(args.note ?? 'paused with npm run schedule -- pause');
      io.out(`schedule ${id} paused`);
      return 0;
    case 'unpause':
      await handle.unpause(args.note ?? 'unpaused with npm run schedule -- unpause');
      io.out(`schedule ${id} unpaused`);
      return 0;
    case 'delete':
      await handle.delete();
      io.out(`schedule ${id} deleted (runs in flight go on)`);
      return 0;
    case 'trigger': {
      const before = await handle.describe();
      const running = before.info.runningActions.map((a) => a.workflow.workflowId);
      await handle.trigger(ScheduleOverlapPolicy.SKIP);
      if (running.length > 0) {
        io.out(`a run is still in flight (${running.join(', ')}): overlap policy SKIP, no new run started`);
        return 0;
      }
      // The new run shows up among the recent actions within a moment.
      const seen = before.info.numActionsTaken;
      for (let i = 0; i < 50; i++) {
        const d = await handle.describe();
        const latest = d.info.recentActions.at(-1);
        if (d.info.numActionsTaken > seen && latest) {
          io.out(
            `triggered: ${latest.action.workflow.workflowId} (run ${latest.action.workflow.firstExecutionRunId})`,
          );
          return 0;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      io.out('trigger requested; `npm run schedule -- describe` shows the run once started');
      return 0;
    }
    case 'backfill': {
      const results = await backfill(client, config, {
        from: args.from ?? '',
        to: args.to ?? '',
        groups: args.groups,
        dryRun: args.dryRun,
        now,
        onMonth: (m, phase) => {
          if (phase === 'started') {
            io.out(`${m.month}: ${m.started ? 'started' : 'already running, waiting for'} ${m.workflowId}`);
          } else {
            // The run's summary starts with its month.
            io.out(m.error ? `${m.month}: FAILED: ${m.error}` : (m.result?.summary ?? `${m.month}: done`));
          }
        },
      });
      const failed = results.filter(
        (m) => m.error || (m.result && m.result.failed + m.result.failedGroups > 0),
      );
      io.out(
        `backfill ${args.from}..${args.to}: ${results.length} month(s), ${failed.length} with failures` +
          (failed.length > 0 ? ` (${failed.map((m) => m.month).join(', ')})` : ''),
      );
      return failed.length > 0 ? 1 : 0;
    }
  }
}
