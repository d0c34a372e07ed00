// The offloader's configuration: these zod schemas are the single source of its types.
//
// Every leaf carries its own error function so a failure reads `expected <what>, found <what>`;
// `formatIssues` turns zod's issues into one line per invalid field, prefixed with its path.
//
// Relative paths (store.path, templates.*) are kept as written and resolve against the working
// directory of the process that uses them: `npm run …` always runs from the project root, so the
// same file works for the worker, the scripts and the demo. We do not resolve them against the
// config file's directory, because config/local.yaml names `.data/archive` at the project root.
import { durationMs } from '../duration.ts';
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Describing what was found, without ever printing a secret.

/** A short, human description of a config value, for "found …" in error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the key is missing)';
  if (value === null) return 'an empty value (null)';
  if (typeof value === 'string') {
    // Credentials embedded in a URL must not be echoed back.
    const masked = value.replace(/(\/\/)[^/@\s]*@/g, '$1***@');
    const shown = masked.length > 80 ? `${masked.slice(0, 77)}...` : masked;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) return 'an empty mapping {}';
    const shown = keys.slice(0, 6).join(', ') + (keys.length > 6 ? ', ...' : '');
    return `a mapping with keys ${shown}`;
  }
  return `a ${typeof value}`;
}

/** The kind of a value, never its content: used where the value may be a secret. */
function describeKind(value: unknown): string {
  if (value === undefined) return 'nothing (the key is missing)';
  if (value === null) return 'an empty value (null)';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    return keys.length === 0 ? 'an empty mapping {}' : `a mapping with keys ${keys.join(', ')}`;
  }
  return `a ${typeof value}`;
}

type RawIssue = { code?: string; input?: unknown };

/** An error function giving `expected <what>, found <value>` for every issue of a schema or check. */
function expected(what: string) {
  return { error: (iss: RawIssue) => `expected ${what}, found ${describeValue(iss.input)}` };
}

function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Building blocks.

const KNOWN_KEYS = 'expected one of the keys: ';

/** A strict object: unknown keys are errors, so typos are caught. */
function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss: RawIssue) =>
      iss.code === 'unrecognized_keys'
        ? `${KNOWN_KEYS}${known}` // expanded to one line per unknown key by formatIssues
        : `expected a mapping (key: value), found ${describeValue(iss.input)}`,
  });
}

function intBetween(min: number, max: number) {
  const e = expected(`an integer between ${min} and ${max}`);
  return z.int(e).min(min, e).max(max, e);
}

function text(what: string) {
  const e = expected(what);
  return z
    .string(e)
    .min(1, e)
    .refine((s) => !hasControlChars(s), e);
}

function matching(re: RegExp, what: string) {
  const e = expected(what);
  return z.string(e).regex(re, e);
}

/** An http(s) URL without credentials, query or fragment; trailing slashes are removed. */
function httpUrl(what = 'an http(s) URL') {
  const e = expected(`${what} (http:// or https://, without credentials, query or fragment)`);
  return z
    .string(e)
    .refine((s) => {
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        return false;
      }
      return (
        (u.protocol === 'http:' || u.protocol === 'https:') &&
        u.username === '' &&
        u.password === '' &&
        u.search === '' &&
        u.hash === ''
      );
    }, e)
    .transform((s) => {
      const u = new URL(s);
      return u.origin + u.pathname.replace(/\/+$/, '');
    });
}

/** True for an IANA zone name Intl knows; fixed offsets are refused (Temporal schedules need names). */
export function isValidTimeZone(tz: string): boolean {
  if (tz.length === 0 || /^[+-]/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const timeZoneSchema = (() => {
  const e = expected('an IANA time zone name such as UTC or Europe/Paris');
  return z
    .string(e)
    .refine(isValidTimeZone, e)
    .transform((tz) => {
      // Fix only the case ("utc" -> "UTC"): other names stay as written, as Temporal will read them.
      const resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
      return resolved.toLowerCase() === tz.toLowerCase() ? resolved : tz;
    });
})();

// ---------------------------------------------------------------------------------------------
// Secret references: config files name where a secret lives, never the secret itself.

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const REF_SHAPE = 'a reference { env: NAME } or { file: PATH }';

function secretRefError(iss: RawIssue): string {
  const v = iss.input;
  if (typeof v === 'string' || typeof v === 'number') {
    return `expected ${REF_SHAPE}, found ${describeKind(v)} (tokens must not be written in the config file)`;
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if ('env' in o && 'file' in o) return `expected ${REF_SHAPE}, found both env and file`;
    if (keys.length === 1 && 'env' in o) {
      // The name is not echoed: a token pasted here by mistake must not end up in a log.
      return `expected { env: NAME } where NAME is an environment variable name (A-Z, 0-9, _, not starting with a digit), found ${
        typeof o.env === 'string' ? 'an invalid name' : describeKind(o.env)
      }`;
    }
    if (keys.length === 1 && 'file' in o) {
      return `expected { file: PATH } where PATH is a non-empty file path, found ${describeKind(o.file)}`;
    }
  }
  return `expected ${REF_SHAPE}, found ${describeKind(v)}`;
}

// zod may report an option's own issue instead of the union's: those never echo the value either.
const envRefSchema = z.strictObject(
  {
    env: z.string({ error: secretRefError }).regex(ENV_NAME, {
      error: () =>
        'expected an environment variable name (A-Z, 0-9 and _, not starting with a digit), found an invalid name',
    }),
  },
  { error: secretRefError },
);
const fileRefSchema = z.strictObject(
  {
    file: z.string({ error: secretRefError }).refine((s) => s.length > 0 && !hasControlChars(s), {
      error: () => 'expected { file: PATH } where PATH is a non-empty file path, found an invalid path',
    }),
  },
  { error: secretRefError },
);
export const secretRefSchema = z.union([envRefSchema, fileRefSchema], { error: secretRefError });

// ---------------------------------------------------------------------------------------------
// Warp 10, Temporal, store, Slack.

const filePath = (what: string) => text(`a path to ${what}`);

/** TLS to Temporal: server CA (self-signed or private PKI), client certificate + key for mTLS. */
export const temporalTlsSchema = strict({
  caFile: filePath("the server's CA certificate (PEM)").optional(),
  certFile: filePath('the client certificate (PEM), for mTLS').optional(),
  keyFile: filePath("the client certificate's private key (PEM), for mTLS").optional(),
  serverName: text('the server name to verify (SNI)').optional(),
}).superRefine((t, ctx) => {
  if ((t.certFile === undefined) !== (t.keyFile === undefined)) {
    const missing = t.certFile === undefined ? 'certFile' : 'keyFile';
    ctx.addIssue({
      code: 'custom',
      path: [missing],
      message: `expected certFile and keyFile together (mTLS needs both), found only ${missing === 'certFile' ? 'keyFile' : 'certFile'}`,
    });
  }
});

export const warp10Schema = strict({
  url: httpUrl('the Warp 10 base URL, an http(s) URL'),
  readToken: secretRefSchema,
  writeToken: secretRefSchema,
  connectTimeoutMs: intBetween(100, 600_000).default(10_000),
  // Long by default: a month of a large dataset is exported by one WarpScript request.
  requestTimeoutMs: intBetween(1_000, 86_400_000).default(1_800_000),
  // Requests one worker process has in flight against Warp 10, whatever the group and batch concurrency:
  // the rest wait for a connection. The cluster sees at most this many times the number of workers.
  maxConcurrentRequests: intBetween(1, 256).default(8),
  // For https with a private CA: the CA certificate (PEM) that signed Warp 10's certificate.
  caFile: filePath('a CA certificate (PEM) for https to Warp 10').optional(),
});

/**
 * Another Warp 10 an archive can be restored into (`npm run restore -- --target NAME`), typically a
 * separate "cold" instance. Same secret-reference rules as `warp10`; the read token checks what the
 * target holds before and after writing.
 */
export const restoreTargetSchema = strict({
  name: matching(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    'a restore target name (1 to 63 characters: a-z, 0-9, ., _, -, starting with a letter or digit)',
  ),
  url: httpUrl('the Warp 10 base URL, an http(s) URL'),
  readToken: secretRefSchema,
  writeToken: secretRefSchema,
  connectTimeoutMs: intBetween(100, 600_000).default(10_000),
  requestTimeoutMs: intBetween(1_000, 86_400_000).default(1_800_000),
});

export const temporalSchema = strict({
  address: matching(
    /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([1-9][0-9]{0,4})$/,
    'a host:port address such as 127.0.0.1:7233',
  ).default('127.0.0.1:7233'),
  namespace: text('a Temporal namespace name').default('default'),
  taskQueue: text('a task queue name').default('warp10-offloader'),
  uiUrl: httpUrl('the Temporal Web UI base URL').default('http://127.0.0.1:8233'),
  // true: TLS with the system's CAs (Temporal Cloud); a mapping: private CA and/or mTLS.
  tls: z
    .union(
      [z.boolean(), temporalTlsSchema],
      expected('true, false or a mapping { caFile, certFile, keyFile, serverName }'),
    )
    .optional(),
  // Temporal Cloud API key (implies TLS).
  apiKey: secretRefSchema.optional(),
  // A profile of Temporal's environment configuration (temporal.toml, TEMPORAL_* variables): it gives
  // the address, namespace, TLS and API key; fields set here win.
  profile: text('a profile name of the Temporal environment configuration, such as default').optional(),
}).prefault({});

/** The worker's Prometheus endpoint (off unless this section is present). */
export const metricsSchema = strict({
  // 0 picks a free port (tests); production configs name one, such as 9464.
  port: intBetween(0, 65535),
  // Loopback by default: expose it on purpose (0.0.0.0 in a container), never by accident.
  host: text('a host name or IP address to bind, such as 127.0.0.1').default('127.0.0.1'),
});

/** Worker logs: one JSON object per line, or a human-readable form for local use. */
export const loggingSchema = strict({
  format: z.enum(['json', 'pretty'], expected('"json" or "pretty"')).default('json'),
  level: z
    .enum(['trace', 'debug', 'info', 'warn', 'error'], expected('one of trace, debug, info, warn, error'))
    .default('info'),
}).prefault({});

export const localStoreSchema = strict({
  type: z.literal('local'),
  path: text('a directory path (relative paths resolve against the working directory)'),
});

export const s3StoreSchema = strict({
  type: z.literal('s3'),
  // Optional: without it the AWS SDK targets AWS S3 itself.
  endpoint: httpUrl('the S3 endpoint URL').optional(),
  region: text('an S3 region name such as us-east-1').default('us-east-1'),
  bucket: matching(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'an S3 bucket name (3 to 63 characters: a-z, 0-9, dot, hyphen)',
  ),
  // Always ends with '/' when set, so keys are `${prefix}${key}` without surprises.
  prefix: z
    .string(expected('a key prefix such as warp10/'))
    .refine(
      (s) => !s.startsWith('/') && !hasControlChars(s),
      expected('a key prefix not starting with / (such as warp10/)'),
    )
    .transform((s) => (s === '' || s.endsWith('/') ? s : `${s}/`))
    .default(''),
  // Path-style addressing is what most S3-compatible services (Cellar, MinIO) expect.
  forcePathStyle: z.boolean(expected('true or false')).default(true),
  accessKeyId: secretRefSchema,
  secretAccessKey: secretRefSchema,
});

export const storeSchema = z.discriminatedUnion('type', [localStoreSchema, s3StoreSchema], {
  error: (iss: RawIssue) => {
    if (iss.code === 'invalid_union') {
      const t = (iss.input as Record<string, unknown> | undefined)?.type;
      return `expected "local" or "s3", found ${describeValue(t)}`;
    }
    return `expected a mapping with type: local or type: s3, found ${describeValue(iss.input)}`;
  },
});

const channelSchema = matching(
  /^#?[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/,
  "a Slack channel name or ID such as '#ops-archive' or C0123456789",
);

export const slackSchema = strict({
  token: secretRefSchema.optional(),
  channel: channelSchema.optional(),
  webhookUrl: secretRefSchema.optional(),
  successSummary: strict({
    enabled: z.boolean(expected('true or false')).default(true),
    channel: channelSchema.optional(),
  }).optional(),
  // Only for tests pointing the Web API client at a local fake.
  apiUrl: httpUrl('the Slack Web API base URL').optional(),
}).superRefine((s, ctx) => {
  const bot = s.token !== undefined || s.channel !== undefined;
  if (bot && s.webhookUrl !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['webhookUrl'],
      message: 'expected either token + channel or webhookUrl, found both',
    });
  } else if (s.token !== undefined && s.channel === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['channel'],
      message:
        "expected a channel such as '#ops-archive' to go with token, found nothing (the key is missing)",
    });
  } else if (s.token === undefined && s.channel !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['token'],
      message: `expected a bot token reference { env: NAME } to go with channel, found nothing (the key is missing)`,
    });
  } else if (!bot && s.webhookUrl === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: [],
      message: 'expected token + channel or webhookUrl (or no slack section at all), found neither',
    });
  }
  if (s.webhookUrl !== undefined && s.successSummary?.channel !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['successSummary', 'channel'],
      message:
        'expected no channel with webhookUrl (a webhook always posts to its own channel), found a channel',
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Groups and datasets.

/** A Warp 10 class or label selector: an exact value, or `~regex`. */
function selectorValue(what: string, hint = '') {
  const base = `${what}: an exact value or ~regex, non-empty, without control characters${hint}`;
  return z.string(expected(base)).superRefine((s, ctx) => {
    if (s.length === 0 || hasControlChars(s) || s === '~') {
      ctx.addIssue({ code: 'custom', input: s, message: `expected ${base}, found ${describeValue(s)}` });
      return;
    }
    if (s.startsWith('~')) {
      // Warp 10 compiles Java regexes; JS is only a sanity check, but catches most typos.
      try {
        new RegExp(s.slice(1));
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        ctx.addIssue({
          code: 'custom',
          input: s,
          message: `expected a valid regular expression after ~, found ${describeValue(s)} (${why})`,
        });
      }
    }
  });
}

const labelNameSchema = z.string().refine((s) => s.length > 0 && !hasControlChars(s), {
  error: 'expected a non-empty label name without control characters, found an invalid name',
});

export const selectorSchema = strict({
  class: selectorValue('a class selector'),
  labels: z
    .record(labelNameSchema, selectorValue('a label selector', " (quote numbers, e.g. '1')"), {
      error: (iss: RawIssue) =>
        `expected a mapping of label name to selector, found ${describeValue(iss.input)}`,
    })
    .default({}),
});

const templatePath = (() => {
  const e = expected('a path to a WarpScript file ending in .mc2');
  return z.string(e).refine((s) => s.length > 4 && s.endsWith('.mc2') && !hasControlChars(s), e);
})();

/** Optional custom WarpScript files replacing the built-in ones, per phase. */
export const templatesSchema = strict({
  export: templatePath.optional(),
  delete: templatePath.optional(),
});

export const BATCH_DEFAULTS = { seriesPerBatch: 500, pointsPerBatch: 250_000, batchConcurrency: 4 } as const;
const seriesPerBatchSchema = intBetween(1, 100_000).default(BATCH_DEFAULTS.seriesPerBatch);
// Large datasets (10,000 series and more) are batched by label prefix, each batch sized to about this
// many points from a sample: one selector a request, whatever the labels.
const pointsPerBatchSchema = intBetween(1_000, 10_000_000).default(BATCH_DEFAULTS.pointsPerBatch);
// Batches of one dataset in flight at once; the group's concurrency multiplies it. Four, because
// Warp 10's standalone DELETE syncs a LevelDB write per series and concurrent deletes share those
// syncs (BENCHMARKS.md, issue 18): 4 lanes archived 200,000 series 1.2-1.3x faster than 2.
const batchConcurrencySchema = intBetween(1, 64).default(BATCH_DEFAULTS.batchConcurrency);
// After a month is committed, the metadata of its series left with no point at all leave Warp 10's
// directory (src/activities/warp10/purge.ts). Off by default: it changes what FIND lists (dashboards and
// absence alerts that look for dead series), and it needs the extension's ARCHIVE.PURGE and the read
// token's `.cap:archive.purge`; turn it on where series churn (one per instance, UUID labels).
const purgeEmptySeriesSchema = z.boolean(expected('true or false')).default(false);

export const datasetSchema = strict({
  name: matching(
    /^[a-z0-9][a-z0-9._-]{0,126}$/,
    'a dataset name (1 to 127 characters: a-z, 0-9, ., _, -, starting with a letter or digit)',
  ),
  selector: selectorSchema,
  seriesPerBatch: seriesPerBatchSchema,
  pointsPerBatch: pointsPerBatchSchema,
  batchConcurrency: batchConcurrencySchema,
  purgeEmptySeries: purgeEmptySeriesSchema,
  templates: templatesSchema.optional(),
});

export const discoverSchema = strict({
  selector: selectorSchema,
  byLabel: text('a label name'),
  seriesPerBatch: seriesPerBatchSchema,
  pointsPerBatch: pointsPerBatchSchema,
  batchConcurrency: batchConcurrencySchema,
  purgeEmptySeries: purgeEmptySeriesSchema,
  templates: templatesSchema.optional(),
});

export const groupModeSchema = z.enum(['parallel', 'sequential'], expected('"parallel" or "sequential"'));

/** Adds an issue at `[i, 'name']` for every entry whose name was already used. */
function uniqueNames(what: string) {
  return z.superRefine<unknown[]>(
    (items, ctx) => {
      const seen = new Map<string, number>();
      items.forEach((item, i) => {
        const name = (item as { name?: unknown } | null)?.name;
        if (typeof name !== 'string') return;
        const first = seen.get(name);
        if (first === undefined) seen.set(name, i);
        else
          ctx.addIssue({
            code: 'custom',
            path: [i, 'name'],
            input: name,
            message: `expected a unique ${what} name, found ${describeValue(name)} again (already used at index ${first})`,
          });
      });
    },
    // Run even when other fields are invalid, so one pass reports every problem.
    { when: (p) => Array.isArray(p.value) },
  );
}

export const groupSchema = strict({
  name: matching(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'a group name (1 to 63 characters: a-z, 0-9, _, -, starting with a letter or digit)',
  ),
  // Sequential by default: the gentler choice for the Warp 10 cluster.
  mode: groupModeSchema.default('sequential'),
  // Ignored in sequential mode.
  concurrency: intBetween(1, 256).default(4),
  datasets: z.array(datasetSchema, expected('a list of datasets')).check(uniqueNames('dataset')).default([]),
  discover: discoverSchema.optional(),
}).superRefine((g, ctx) => {
  if (g.datasets.length === 0 && g.discover === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['datasets'],
      message: 'expected at least one dataset, or a discover section, found neither',
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The monthly Temporal Schedule (npm run schedule). It fires in the top-level `timezone`.

export { durationMs };

const durationSchema = (() => {
  const e = expected("a duration of at least a minute such as '3 days', '12h' or '90 minutes'");
  return z.string(e).refine((s) => (durationMs(s) ?? 0) >= 60_000, e);
})();

export const scheduleSchema = strict({
  id: matching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'a schedule ID (letters, digits, ., _ and -)').default(
    'warp10-offloader-monthly',
  ),
  // At most 28: every month has that day.
  dayOfMonth: intBetween(1, 28).default(1),
  hour: intBetween(0, 23).default(0),
  minute: intBetween(0, 59).default(30),
  // A run missed while Temporal was down still starts if Temporal is back within this window.
  catchupWindow: durationSchema.default('3 days'),
  pauseOnFailure: z.boolean(expected('true or false')).default(false),
});

/** How late data is handled: when a month may be archived, and how long its archive is kept converging. */
export const lateDataSchema = strict({
  // Collectors keep writing a month's points for a while after it ends: no month is archived before
  // its end plus this much (scheduled runs wait for it; ad-hoc ones are refused unless told otherwise).
  lateness: z
    .string(expected("a duration such as '6 hours', '90 minutes' or '0 minutes'"))
    .refine(
      (s) => durationMs(s) !== undefined,
      expected("a duration such as '6 hours', '90 minutes' or '0 minutes'"),
    )
    .default('6 hours'),
  // The monthly run also rechecks this many months before its own for late points (0: none).
  recheckMonths: intBetween(0, 24).default(2),
});

export const offloadConfigSchema = strict({
  timezone: timeZoneSchema.default('UTC'),
  warp10: warp10Schema,
  temporal: temporalSchema,
  store: storeSchema,
  slack: slackSchema.optional(),
  schedule: scheduleSchema.optional(),
  lateData: lateDataSchema.default({ lateness: '6 hours', recheckMonths: 2 }),
  restoreTargets: z
    .array(restoreTargetSchema, expected('a list of restore targets'))
    .check(uniqueNames('restore target'))
    .optional(),
  metrics: metricsSchema.optional(),
  logging: loggingSchema,
  /** npm run erase: the key of the erasure records' selector HMAC (default: the Warp 10 write token). */
  erasure: strict({ recordKey: secretRefSchema }).optional(),
  groups: z
    .array(groupSchema, expected('a list of groups'))
    .min(1, expected('a list of at least one group'))
    .check(uniqueNames('group')),
});

export type SecretRef = z.infer<typeof secretRefSchema>;
export type Warp10Config = z.infer<typeof warp10Schema>;
export type RestoreTargetConfig = z.infer<typeof restoreTargetSchema>;
export type TemporalConfig = z.infer<typeof temporalSchema>;
export type LocalStoreConfig = z.infer<typeof localStoreSchema>;
export type S3StoreConfig = z.infer<typeof s3StoreSchema>;
export type StoreConfig = z.infer<typeof storeSchema>;
export type SlackConfig = z.infer<typeof slackSchema>;
export type ScheduleConfig = z.infer<typeof scheduleSchema>;
export type MetricsConfig = z.infer<typeof metricsSchema>;
export type LateDataConfig = z.infer<typeof lateDataSchema>;
export type LoggingConfig = z.infer<typeof loggingSchema>;
export type Selector = z.infer<typeof selectorSchema>;
export type DatasetTemplates = z.infer<typeof templatesSchema>;
export type DatasetConfig = z.infer<typeof datasetSchema>;
export type DiscoverConfig = z.infer<typeof discoverSchema>;
export type GroupMode = z.infer<typeof groupModeSchema>;
export type GroupConfig = z.infer<typeof groupSchema>;
export type OffloadConfig = z.infer<typeof offloadConfigSchema>;
/** What a config file may contain before defaults are applied. */
export type OffloadConfigInput = z.input<typeof offloadConfigSchema>;

// ---------------------------------------------------------------------------------------------
// Turning zod issues into `<path>: expected …, found …` lines.

/** `groups[0].datasets[2].seriesPerBatch`; keys that are not identifiers are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out || '(top level)';
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/** One line per invalid field, in the order zod found them; duplicates removed. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys' && iss.message.startsWith(KNOWN_KEYS)) {
      const known = iss.message.slice(KNOWN_KEYS.length).split(', ');
      for (const key of iss.keys) {
        const close = known
          .map((k) => ({ k, d: editDistance(key, k) }))
          .filter(({ d }) => d <= Math.max(1, Math.floor(key.length / 3)))
          .sort((x, y) => x.d - y.d)[0];
        const hint = close ? ` (did you mean ${close.k}?)` : '';
        lines.push(
          `${formatPath([...iss.path, key])}: expected one of the keys ${known.join(', ')}, found an unknown key${hint}`,
        );
      }
    } else if (iss.code === 'invalid_key') {
      // Record keys (label names): the nested issue says what is wrong with the key.
      const inner = iss.issues[0]?.message ?? 'expected a valid key, found an invalid key';
      lines.push(`${formatPath(iss.path)}: ${inner}`);
    } else {
      lines.push(`${formatPath(iss.path)}: ${iss.message}`);
    }
  }
  return [...new Set(lines)];
}
