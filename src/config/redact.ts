// Hiding secret values from anything the offloader logs, throws or posts. No imports and no I/O: the Warp 10
// client, the Slack notifier and the message builders (which also run in workflow code) share this one.

export const REDACTED = '[REDACTED]';

/**
 * A secret as a WarpScript string literal holds it (src/warp10/warpscript.ts stringLiteral): every UTF-8
 * byte outside [A-Za-z0-9] written %XX. Warp 10 echoes the failing part of a script in its errors, in
 * this form. Undefined for a string that is not valid UTF-16 (encodeURIComponent refuses it).
 */
function literalForm(s: string): string | undefined {
  try {
    // encodeURIComponent writes %XX (uppercase) for every byte but A-Za-z0-9 and -_.!~*'(): those too.
    return encodeURIComponent(s).replace(
      /[^A-Za-z0-9%]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
    );
  } catch {
    return undefined;
  }
}

/**
 * Every form in which a secret could show up in our output: raw, URL-encoded (webhook URLs, tokens inside
 * URLs), markup-escaped (Slack mrkdwn and HTML escape &, < and > alike) and as a WarpScript literal.
 */
function secretVariants(secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    // An empty secret would match between every character.
    if (typeof s !== 'string' || s.length === 0) continue;
    out.add(s);
    out.add(encodeURIComponent(s));
    out.add(s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
    const lit = literalForm(s);
    if (lit !== undefined) out.add(lit);
  }
  return [...out];
}

/** Where each variant occurs in `s`, as [from, to) spans. */
function variantSpans(s: string, variants: readonly string[]): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const v of variants) {
    for (let i = s.indexOf(v); i !== -1; i = s.indexOf(v, i + 1)) spans.push([i, i + v.length]);
  }
  return spans;
}

/**
 * Every span is hidden, overlapping spans as one: a secret containing or overlapping another is never
 * left half visible, and since only the original text is searched, a secret that occurs in "[REDACTED]"
 * cannot mangle a replacement already made.
 */
function replaceSpans(s: string, spans: Array<[number, number]>): string {
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

function redactWith(s: string, variants: readonly string[]): string {
  return replaceSpans(s, variantSpans(s, variants));
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

/**
 * Pieces of a secret this long or longer are hidden from Warp 10's echoes. Warp 10 quotes about 30
 * characters of a failing script before the failing word (`Exception at '…5837a79a' 'token' STORE
 * =>X<='`), so a token's literal is cut anywhere: a piece shorter than this may still show.
 */
export const MIN_ECHOED_PIECE = 6;

/**
 * For text from Warp 10 (its error messages and reply bodies): redactString, and every run of
 * MIN_ECHOED_PIECE or more characters that is part of a form of a secret (a literal cut by the echo).
 */
export function redactEcho(s: string, secrets: readonly string[]): string {
  const variants = secretVariants(secrets);
  const spans = variantSpans(s, variants);
  const pieces = new Set<string>();
  for (const v of variants)
    for (let i = 0; i + MIN_ECHOED_PIECE <= v.length; i++) pieces.add(v.slice(i, i + MIN_ECHOED_PIECE));
  if (pieces.size > 0) {
    for (let i = 0; i + MIN_ECHOED_PIECE <= s.length; i++)
      if (pieces.has(s.slice(i, i + MIN_ECHOED_PIECE))) spans.push([i, i + MIN_ECHOED_PIECE]);
  }
  return replaceSpans(s, spans);
}
