// Worker logs with pino: one JSON object per line (the default), or a human-readable form for local
// use (pino-pretty, `logging.format: pretty`). The same logger is the Temporal SDK's (Runtime.install):
// worker, activity and workflow lines (workflow `log` reaches it through the SDK's sink) all carry
// workflowId, runId, activity, and — for the offloader's runs — group, dataset, month and batch.
// Every string is passed through redact(): a resolved secret never reaches a log line.
import { Writable } from 'node:stream';
import { pino, type Logger as Pino, type LevelWithSilent } from 'pino';
import pinoPretty from 'pino-pretty';
import type { ActivityInterceptorsFactory, LogLevel, LogMetadata, Logger } from '@temporalio/worker';
import type { LoggingConfig } from '../config/schema.ts';
import { redact } from '../config/redact.ts';

export interface LogOptions extends Partial<LoggingConfig> {
  /** Secret values to remove from every line. Mutable: resolved secrets are appended once known. */
  secrets?: string[];
  /** Where lines go; stdout by default. */
  destination?: Writable;
}

/** Errors become plain objects (type, message, stack) so their text is redacted like any other. */
function redactDeep(value: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return value;
  const plain = (v: unknown, depth: number): unknown => {
    if (v instanceof Error) return { type: v.name, message: v.message, stack: v.stack };
    if (depth > 6 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x, depth + 1)]));
  };
  return redact(plain(value, 0), secrets);
}

/** The process logger. `format` and `level` come from the config, LOG_FORMAT / LOG_LEVEL win. */
export function createLogger(opts: LogOptions = {}, env = process.env): Pino {
  const secrets = opts.secrets ?? [];
  const format =
    env.LOG_FORMAT === 'pretty' || env.LOG_FORMAT === 'json' ? env.LOG_FORMAT : (opts.format ?? 'json');
  const level =
    ((env.LOG_LEVEL || undefined)?.toLowerCase() as LevelWithSilent | undefined) ?? opts.level ?? 'info';
  const destination =
    format === 'pretty'
      ? pinoPretty({
          sync: true,
          destination: opts.destination ?? 1,
          colorize: !opts.destination && process.stdout.isTTY,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,service',
          messageFormat: '{if workflowId}[{workflowId}{if activity} {activity}{end}] {end}{msg}',
        })
      : (opts.destination ?? pino.destination({ dest: 1, sync: true }));
  return pino(
    {
      level,
      base: { service: 'warp10-offloader' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redactDeep(obj, secrets) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const redacted = args.map((a) => redactDeep(a, secrets)) as Parameters<typeof method>;
          method.apply(this, redacted);
        },
      },
    },
    destination,
  );
}

const SDK_TO_PINO: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** archive/<group>/<dataset>/<month>[...], archive-failure/<group>/<dataset>/<month>/<runId> */
const DATASET_MONTH_ID = /^archive(?:-failure)?\/([^/]+)\/([^/]+)\/(\d{4}-\d{2})(?:\/|$)/;

/** Field names the same in every line, whichever part of the SDK logged it. */
export function normalizeMeta(meta: LogMetadata | undefined): Record<string, unknown> {
  if (!meta) return {};
  const out: Record<string, unknown> = { ...meta };
  if (out.activityType !== undefined && out.activity === undefined) {
    out.activity = out.activityType;
    delete out.activityType;
  }
  if (out.error !== undefined && out.err === undefined) {
    out.err = out.error;
    delete out.error;
  }
  if (typeof out.workflowId === 'string' && out.dataset === undefined) {
    const m = DATASET_MONTH_ID.exec(out.workflowId);
    if (m) Object.assign(out, { group: m[1], dataset: m[2], month: m[3] });
  }
  return out;
}

/** pino behind the SDK's Logger interface, for Runtime.install({ logger }). */
export class PinoSdkLogger implements Logger {
  constructor(readonly pino: Pino) {}
  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    this.pino[SDK_TO_PINO[level] ?? 'info'](normalizeMeta(meta), message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/** Adds the activity's dataset-month and batch (from its input) to every line it logs. */
export const activityLogContext: ActivityInterceptorsFactory = () => {
  const attrs: Record<string, unknown> = {};
  return {
    inbound: {
      execute(input, next) {
        const a = (input.args[0] ?? {}) as Record<string, unknown>;
        for (const k of ['group', 'dataset', 'month', 'batch'] as const) {
          if (typeof a[k] === 'string' || typeof a[k] === 'number') attrs[k] = a[k];
        }
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        return { ...next(input), ...attrs };
      },
    },
  };
};

/** A writable collecting lines, for tests of the format. */
export function memoryDestination(): Writable & { lines: () => string[] } {
  let text = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return Object.assign(w, { lines: () => text.split('\n').filter((l) => l.length > 0) });
}
