// Warp 10 series selectors on the client side: parse `--series 'class{label=value,label~regex}'` and
// match it against the archived series' selectors (as TOSELECTOR wrote them in the batch manifests).
// Pure: the CLI, the activities and tests use it; what it selects is passed to Warp 10 as an exact set.
import { SelectorError, decodeSelectorPart, type SeriesName } from '../archive/series-name.ts';
import { quoted } from '../quoted.ts';

type Matcher = { exact: string } | { regex: RegExp; source: string };

export interface SeriesSelector {
  text: string;
  cls: Matcher;
  labels: [string, Matcher][];
}

function matcher(op: '=' | '~', raw: string, what: string): Matcher {
  const value = decodeSelectorPart(raw, what);
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
    const name = decodeSelectorPart(lm[1], 'a label name');
    labels.push([name, matcher(lm[2] as '=' | '~', lm[3], `label ${name}`)]);
  }
  return { text, cls, labels };
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
