// Resolving secret references ({ env } / { file }) at the moment a secret is needed. Hiding the resolved
// values from output is redact.ts's job.
import { readFileSync } from 'node:fs';
import type { OffloadConfig, SecretRef } from './schema.ts';
import { whyUnreadable } from './files.ts';

/** A secret that cannot be resolved; the message names the reference, never a value. */
export class SecretError extends Error {
  readonly ref: SecretRef;
  readonly what: string;

  constructor(message: string, ref: SecretRef, what: string) {
    super(message);
    this.name = 'SecretError';
    this.ref = ref;
    this.what = what;
  }
}

/** Reads the referenced secret, trimmed. `what` names its config field, e.g. `warp10.readToken`. */
export function resolveSecret(ref: SecretRef, what: string): string {
  if ('env' in ref) {
    const value = process.env[ref.env];
    if (value === undefined) {
      throw new SecretError(
        `environment variable ${ref.env} is not set (needed for ${what}): export it, or change ${what} in the config`,
        ref,
        what,
      );
    }
    const trimmed = value.trim();
    if (trimmed === '') {
      throw new SecretError(
        `environment variable ${ref.env} is empty (needed for ${what}): set it to the secret's value`,
        ref,
        what,
      );
    }
    return trimmed;
  }
  let content: string;
  try {
    content = readFileSync(ref.file, 'utf8');
  } catch (err) {
    // Only the error code: the file name is already in the message and is not secret.
    const why = whyUnreadable(err);
    const fix =
      why === 'does not exist'
        ? `create it with the secret, or fix ${what} in the config`
        : why === 'is a directory'
          ? `name the file holding the secret, not its directory, in ${what}`
          : `make it readable by the user running this, or fix ${what} in the config`;
    throw new SecretError(`secret file ${ref.file} ${why} (needed for ${what}): ${fix}`, ref, what);
  }
  const trimmed = content.trim();
  if (trimmed === '') {
    throw new SecretError(
      `secret file ${ref.file} is empty (needed for ${what}): write the secret into it`,
      ref,
      what,
    );
  }
  return trimmed;
}

/** Every secret reference in a configuration, with the field it belongs to. */
export function secretRefs(config: OffloadConfig): Array<{ what: string; ref: SecretRef }> {
  const refs: Array<{ what: string; ref: SecretRef }> = [
    { what: 'warp10.readToken', ref: config.warp10.readToken },
    { what: 'warp10.writeToken', ref: config.warp10.writeToken },
  ];
  if (config.store.type === 's3') {
    refs.push({ what: 'store.accessKeyId', ref: config.store.accessKeyId });
    refs.push({ what: 'store.secretAccessKey', ref: config.store.secretAccessKey });
  }
  for (const [i, t] of (config.restoreTargets ?? []).entries()) {
    refs.push({ what: `restoreTargets[${i}].readToken`, ref: t.readToken });
    refs.push({ what: `restoreTargets[${i}].writeToken`, ref: t.writeToken });
  }
  if (config.slack?.token) refs.push({ what: 'slack.token', ref: config.slack.token });
  if (config.slack?.webhookUrl) refs.push({ what: 'slack.webhookUrl', ref: config.slack.webhookUrl });
  if (config.erasure) refs.push({ what: 'erasure.recordKey', ref: config.erasure.recordKey });
  return refs;
}

/**
 * Resolves every secret of a configuration up front, so a worker fails at start with the full
 * list of what is missing rather than one month later in the middle of a run.
 */
export function checkSecrets(config: OffloadConfig): void {
  const problems: string[] = [];
  let first: SecretError | undefined;
  for (const { what, ref } of secretRefs(config)) {
    try {
      resolveSecret(ref, what);
    } catch (err) {
      if (!(err instanceof SecretError)) throw err;
      first ??= err;
      problems.push(err.message);
    }
  }
  if (first) {
    const message =
      problems.length === 1 ? first.message : `missing secrets:\n  - ${problems.join('\n  - ')}`;
    throw new SecretError(message, first.ref, first.what);
  }
}
