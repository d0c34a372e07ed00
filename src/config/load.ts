// Loading and validating the offloader configuration file (YAML or JSON).
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import YAML from 'yaml';
import { formatIssues, offloadConfigSchema } from './schema.ts';
import type { DatasetConfig, GroupConfig, OffloadConfig } from './schema.ts';
import { whyUnreadable } from './files.ts';

export const CONFIG_ENV_VAR = 'OFFLOAD_CONFIG';
export const DEFAULT_CONFIG_PATH = 'config/local.yaml';
const EXAMPLE = 'config/offload.example.yaml';

/** A configuration that cannot be used; `problems` holds one line per invalid field. */
export class ConfigError extends Error {
  readonly source: string;
  readonly problems: readonly string[];

  constructor(message: string, source: string, problems: readonly string[] = []) {
    super(message);
    this.name = 'ConfigError';
    this.source = source;
    this.problems = problems;
  }
}

/** A PEM file named by the config (TLS); an error naming the key, the problem and the fix. */
export function readPem(file: string, path: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(
      `${path}: expected a readable PEM file, found ${JSON.stringify(file)}, which ${whyUnreadable(err)}; fix the path or the file's permissions`,
      'config',
    );
  }
}

/** Validates an already-parsed object; `source` names it in error messages (a file name, "test"). */
export function parseConfig(obj: unknown, source: string): OffloadConfig {
  if (obj === undefined || obj === null) {
    throw new ConfigError(
      `Invalid configuration in ${source}: it is empty. Start from ${EXAMPLE}, which documents every field.`,
      source,
      ['(top level): expected a mapping (key: value), found nothing'],
    );
  }
  const result = offloadConfigSchema.safeParse(obj);
  if (result.success) return result.data;
  const problems = formatIssues(result.error.issues);
  const n = problems.length;
  const message = [
    `Invalid configuration in ${source} (${n} problem${n === 1 ? '' : 's'}):`,
    ...problems.map((p) => `  - ${p}`),
    `Fix ${n === 1 ? 'this field' : 'these fields'} in ${source} and run again; ${EXAMPLE} documents every field.`,
  ].join('\n');
  throw new ConfigError(message, source, problems);
}

/** Reads `path ?? $OFFLOAD_CONFIG ?? config/local.yaml` (relative to the working directory). */
export function loadConfig(path?: string): OffloadConfig {
  const fromEnv = process.env[CONFIG_ENV_VAR];
  const chosen = path ?? (fromEnv ? fromEnv : undefined) ?? DEFAULT_CONFIG_PATH;
  const origin =
    path !== undefined
      ? 'given explicitly'
      : fromEnv
        ? `from ${CONFIG_ENV_VAR}`
        : `the default; set ${CONFIG_ENV_VAR} to use another file`;
  const abs = resolve(chosen);

  const ext = extname(chosen).toLowerCase();
  if (ext !== '.json' && ext !== '.yaml' && ext !== '.yml') {
    throw new ConfigError(
      `Config file ${chosen} (${origin}) must end in .yaml, .yml or .json; found "${ext || 'no extension'}".`,
      chosen,
    );
  }

  let textContent: string;
  try {
    textContent = readFileSync(abs, 'utf8');
  } catch (err) {
    const why = whyUnreadable(err);
    throw new ConfigError(
      `Config file ${abs} ${why} (path ${origin}). Set ${CONFIG_ENV_VAR}=/path/to/offload.yaml ` +
        `or create the file; ${EXAMPLE} is a documented example.`,
      chosen,
    );
  }

  const obj = ext === '.json' ? parseJson(textContent, chosen) : parseYaml(textContent, chosen);
  return parseConfig(obj, chosen);
}

// Parser messages quote the offending source text, which could be a token pasted by mistake:
// report only where the error is.
function parseYaml(source: string, file: string): unknown {
  const doc = YAML.parseDocument(source, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const where = pos ? `line ${pos.line}, column ${pos.col}` : `offset ${e.pos[0]}`;
      const what = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      return `${where}: ${what} (${e.code})`;
    });
    throw new ConfigError(
      `${file} is not valid YAML:\n${problems.map((p) => `  - ${p}`).join('\n')}\nFix the syntax and run again.`,
      file,
      problems,
    );
  }
  return doc.toJS();
}

function parseJson(source: string, file: string): unknown {
  try {
    return JSON.parse(source);
  } catch (err) {
    const m = /position (\d+)/.exec(err instanceof Error ? err.message : '');
    let where = '';
    if (m?.[1]) {
      const before = source.slice(0, Number(m[1]));
      const line = before.split('\n').length;
      const col = before.length - before.lastIndexOf('\n');
      where = ` at line ${line}, column ${col}`;
    }
    const problem = `invalid JSON${where}`;
    throw new ConfigError(`${file} is not valid JSON${where}. Fix the syntax and run again.`, file, [
      problem,
    ]);
  }
}

/** The group named `name`, or a ConfigError listing the configured groups. */
export function findGroup(config: OffloadConfig, name: string): GroupConfig {
  const group = config.groups.find((g) => g.name === name);
  if (!group) {
    throw new ConfigError(
      `No group "${name}" in the configuration; configured groups: ${config.groups.map((g) => g.name).join(', ')}.`,
      'config',
    );
  }
  return group;
}

/**
 * The dataset `dataset` of group `group`, or a ConfigError listing what exists. Datasets found by
 * a group's `discover` section exist only at run time and are not found here.
 */
export function findDataset(
  config: OffloadConfig,
  group: string,
  dataset: string,
): { group: GroupConfig; dataset: DatasetConfig } {
  const g = findGroup(config, group);
  const d = g.datasets.find((x) => x.name === dataset);
  if (!d) {
    const names = g.datasets.map((x) => x.name);
    const listed = names.length > 0 ? `its datasets: ${names.join(', ')}` : 'it lists no datasets';
    const discovered = g.discover
      ? ` (datasets discovered by label ${g.discover.byLabel} are not listed)`
      : '';
    throw new ConfigError(`No dataset "${dataset}" in group "${group}"; ${listed}${discovered}.`, 'config');
  }
  return { group: g, dataset: d };
}
