// Hiding secret values from anything the offloader logs, throws or posts. No imports and no I/O: the Warp 10
// client, the Slack notifier and the message builders (which also run in workflow code) share this one.

export const REDACTED = '[REDACTED]';

/**
 * Every form in which a secret could show up in our output: raw, URL-encoded (webhook URLs, tokens inside
 * URLs) and markup-escaped (Slack mrkdwn and HTML escape &, < and > alike).
 */
function secretVariants(secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    // An empty secret would match between every character.
    if (typeof s !== 'string' || s.length === 0) continue;
    out.add(s);
    out.add(encodeURIComponent(s));
    out.add(s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
  }
  return [...out];
}

/**
 * Every place any variant occurs is hidden, overlapping places as one: a secret containing or overlapping
 * another is never left half visible, and since only the original text is searched, a secret that occurs in
 * "[REDACTED]" cannot mangle a replacement already made.
 */
function redactWith(s: string, variants: readonly string[]): string {
  const spans: Array<[number, number]> = [];
  for (const v of variants) {
    for (let i = s.indexOf(v); i !== -1; i = s.indexOf(v, i + 1)) spans.push([i, i + v.length]);
  }
  if (spans.length === 0) return s;
  spans.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [from, to] of spans) {
    const last = merged[merged.length - 1];
    if (last && from < last[1]) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  let out = '';
  let at = 0;
  for (const [from, to] of merged) {
    out += s.slice(at, from) + REDACTED;
    at = to;
  }
  return out + s.slice(at);
}

/** Replaces every occurrence of any secret in `s` with `[REDACTED]`. */
export function redactString(s: string, secrets: readonly string[]): string {
  return redactWith(s, secretVariants(secrets));
}

/** Deep copy of `value` with every secret replaced in every string (object keys included). */
export function redact<T>(value: T, secrets: readonly string[]): T {
  const variants = secretVariants(secrets);
  if (variants.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactWith(v, variants);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [redactWith(k, variants), walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}
