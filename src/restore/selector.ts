// Warp 10 series selectors on the client side: parse `--series 'class{label=value,label~regex}'` and
// match it against the archived series' selectors (as TOSELECTOR wrote them in the batch manifests).
// Pure: the CLI, the activities and tests use it; what it selects is passed to Warp 10 as an exact set.

export class SelectorError extends Error {
  override name = 'SelectorError';
}

/** A user's text quoted in a message, shortened: a 10,000-character label value must not bury the message. */
export function quoted(s: string, max = 80): string {
  return (
    JSON.stringify(s.length > max ? `${s.slice(0, max - 3)}...` : s) +
    (s.length > max ? ` (${s.length} characters)` : '')
  );
}

type Matcher = { exact: string } | { regex: RegExp; source: string };

export interface SeriesSelector {
  text: string;
  cls: Matcher;
  labels: [string, Matcher][];
}

/** A series as TOSELECTOR names it: `class{k=v,...}`, names and values URL-encoded. */
export interface SeriesName {
  cls: string;
  labels: Record<string, string>;
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new SelectorError(`invalid percent-encoding in ${what} ${quoted(s)}: write % as %25`);
  }
}

function matcher(op: '=' | '~', raw: string, what: string): Matcher {
  const value = decode(raw, what);
  if (op === '=') return { exact: value };
  try {
    // Warp 10 matches Java regexes against the whole value; anchoring gives JS the same meaning here.
    return { regex: new RegExp(`^(?:${value})$`, 'u'), source: value };
  } catch (err) {
    throw new SelectorError(
      `invalid regular expression in ${what} ${quoted(value)} (${(err as Error).message.replace(/^Invalid regular expression: \/.*\/u?: /s, '')}): fix the regular expression after ~`,
    );
  }
}

/**
 * Parses a selector in Warp 10's syntax: `class{}` or `class{label=value,label~regex}`; the class may be
 * `~regex`; `=` before the class is optional. Names and values may be URL-encoded (%2C for a comma).
 */
export function parseSelector(text: string): SeriesSelector {
  const m = /^([^{}]+)\{([^{}]*)\}$/.exec(text.trim());
  if (!m?.[1] || m[2] === undefined) {
    throw new SelectorError(
      `invalid series selector ${quoted(text)}: expected class{label=value,...} such as 'client.http.requests{owner=acme}'`,
    );
  }
  const rawClass = m[1];
  const cls = rawClass.startsWith('~')
    ? matcher('~', rawClass.slice(1), 'the class')
    : matcher('=', rawClass.replace(/^=/, ''), 'the class');
  const labels: [string, Matcher][] = [];
  for (const part of m[2] === '' ? [] : m[2].split(',')) {
    const lm = /^([^=~]+)([=~])(.*)$/.exec(part);
    if (!lm?.[1] || !lm[2] || lm[3] === undefined) {
      throw new SelectorError(
        `invalid label selector ${quoted(part)} in ${quoted(text)}: expected label=value or label~regex`,
      );
    }
    const name = decode(lm[1], 'a label name');
    labels.push([name, matcher(lm[2] as '=' | '~', lm[3], `label ${name}`)]);
  }
  return { text, cls, labels };
}

/** Parses a selector written by TOSELECTOR (exact class and labels). */
export function parseSeriesName(selector: string): SeriesName {
  const m = /^([^{}]*)\{([^{}]*)\}$/.exec(selector);
  if (!m || m[1] === undefined || m[2] === undefined) {
    throw new SelectorError(`not a series selector: ${JSON.stringify(selector)}`);
  }
  const labels: Record<string, string> = {};
  for (const part of m[2] === '' ? [] : m[2].split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) throw new SelectorError(`not a series selector: ${JSON.stringify(selector)}`);
    labels[decode(part.slice(0, i), 'a label name')] = decode(part.slice(i + 1), 'a label value');
  }
  return { cls: decode(m[1], 'the class'), labels };
}

function test(m: Matcher, value: string): boolean {
  return 'exact' in m ? m.exact === value : m.regex.test(value);
}

/** True when the series matches: its class, and every label of the selector (missing labels never match). */
export function matches(sel: SeriesSelector, series: SeriesName): boolean {
  if (!test(sel.cls, series.cls)) return false;
  return sel.labels.every(([name, m]) => {
    const v = series.labels[name];
    return v !== undefined && test(m, v);
  });
}
