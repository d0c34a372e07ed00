/** Replaces every occurrence of each secret with [REDACTED]; secrets shorter than 4 chars are ignored. */
export function redactAll(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length >= 4) out = out.split(s).join('[REDACTED]');
  }
  return out;
}
