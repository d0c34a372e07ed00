// A series' name as the archive records it: TOSELECTOR's `class{k=v,...}`, names and values
// URL-encoded, in the batch manifests. Pure: the audit, the restore and its selectors read it.
import { quoted } from '../quoted.ts';

/** Text that is not a series selector (a name from a manifest, or a selector given by a user). */
export class SelectorError extends Error {
  override name = 'SelectorError';
}

/** A series as TOSELECTOR names it: `class{k=v,...}`, names and values URL-encoded. */
export interface SeriesName {
  cls: string;
  labels: Record<string, string>;
}

/** A URL-encoded class, label name or value, decoded; `what` names it in the error. */
export function decodeSelectorPart(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new SelectorError(`invalid percent-encoding in ${what} ${quoted(s)}: write % as %25`);
  }
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
    labels[decodeSelectorPart(part.slice(0, i), 'a label name')] = decodeSelectorPart(
      part.slice(i + 1),
      'a label value',
    );
  }
  return { cls: decodeSelectorPart(m[1], 'the class'), labels };
}
