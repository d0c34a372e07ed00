// Reads .data/stack.env (written by `npm run stack:up`): the local endpoints and tokens that the worker,
// the CLI and the tests use by default. Real environment variables take precedence.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const STACK_ENV_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '.data',
  'stack.env',
);

export function readStackEnv(file = STACK_ENV_FILE): Record<string, string> {
  if (!existsSync(file)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) vars[m[1]] = m[2];
  }
  return vars;
}

/** Fills process.env with the stack's values where the environment does not set them already. */
export function applyStackEnv(file = STACK_ENV_FILE): void {
  for (const [k, v] of Object.entries(readStackEnv(file))) {
    if (process.env[k] === undefined) process.env[k] = v;
  }
}
