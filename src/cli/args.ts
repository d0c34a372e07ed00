// What the command-line scripts share: their flags parsed strictly, and bad input (flags, the config
// file, secrets) said in one message with exit code 2, before anything is started.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config/load.ts';
import { SecretError } from '../config/secrets.ts';

/** Flags that cannot be used as given; the message says what to fix. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The flags' values: unknown flags and positional arguments are a UsageError, followed by `usage`. */
export function parseFlags<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usage}`);
  }
}

/**
 * `fn()`, or undefined once the message of bad input it threw (a UsageError, ConfigError or SecretError)
 * is printed on stderr: the script then exits 2. Anything else is thrown on.
 */
export function unlessBadInput<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof SecretError) {
      console.error(err.message);
      return undefined;
    }
    throw err;
  }
}
