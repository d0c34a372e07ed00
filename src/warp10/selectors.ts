// Few selectors that cover a batch's series exactly, so the guarded delete issues a handful of range
// DELETEs per batch instead of one per series (each DELETE is two HTTP calls inside Warp 10).
//
// A batch's series are exact selectors `class{k=v,...}` (names and values URL-encoded, as TOSELECTOR
// writes them). Series sharing their class, their label names and every label value but one (K) are
// covered by `class{k=v,...,K~^(?:v1|v2|...)$}`: that selector matches exactly those series, plus any
// series holding more labels, which the delete script checks for data before deleting anything, as it
// does for a single series' selector. The regex is written with encodeSelectorPart: a raw `~` in it
// (`PROGRA~1`, `~user`) would cut it short in Warp 10's parser.
import { encodeSelectorPart, escapeRegex } from './selector-text.ts';

export interface SelectorGroup {
  /** The selector handed to DELETE (a member's own selector when the group has one member). */
  selector: string;
  /** The batch's series it covers. */
  members: string[];
}

interface Parsed {
  raw: string;
  cls: string;
  labels: [string, string][];
}

function parse(selector: string): Parsed | undefined {
  const open = selector.indexOf('{');
  if (open < 0 || !selector.endsWith('}')) return undefined;
  const body = selector.slice(open + 1, -1);
  const labels: [string, string][] = [];
  for (const pair of body === '' ? [] : body.split(',')) {
    const eq = pair.indexOf('=');
    // Exact labels only (no regex, no raw '=' in a name): anything else keeps its own selector.
    if (eq <= 0 || pair.includes('~')) return undefined;
    labels.push([pair.slice(0, eq), pair.slice(eq + 1)]);
  }
  return { raw: selector, cls: selector.slice(0, open), labels };
}

function decode(v: string): string | undefined {
  try {
    return decodeURIComponent(v);
  } catch {
    return undefined;
  }
}

function regexSelector(p: Parsed, key: string, values: string[]): string | undefined {
  const decoded = values.map(decode);
  if (decoded.some((v) => v === undefined)) return undefined;
  const regex = encodeSelectorPart(`^(?:${(decoded as string[]).map(escapeRegex).join('|')})$`);
  const labels = p.labels.map(([k, v]) => (k === key ? `${k}~${regex}` : `${k}=${v}`));
  return `${p.cls}{${labels.join(',')}}`;
}

/**
 * Groups the selectors; every selector is in exactly one group. `maxLength` bounds a group's selector,
 * which DELETE sends in a URL.
 */
export function groupSelectors(selectors: string[], maxLength = 1500): SelectorGroup[] {
  const groups: SelectorGroup[] = [];
  const buckets = new Map<string, Parsed[]>();
  for (const s of selectors) {
    const p = parse(s);
    if (!p || p.labels.length === 0) {
      groups.push({ selector: s, members: [s] });
      continue;
    }
    const shape = `${p.cls}{${p.labels.map(([k]) => k).join(',')}}`;
    const bucket = buckets.get(shape) ?? [];
    bucket.push(p);
    buckets.set(shape, bucket);
  }
  for (const bucket of buckets.values()) {
    const first = bucket[0]!;
    // Vary the label with the most distinct values: fewest groups.
    let key = first.labels[0]![0];
    let most = 0;
    for (const [i, [k]] of first.labels.entries()) {
      const distinct = new Set(bucket.map((p) => p.labels[i]![1])).size;
      if (distinct > most) [key, most] = [k, distinct];
    }
    const byRest = new Map<string, Parsed[]>();
    for (const p of bucket) {
      const rest = p.labels
        .filter(([k]) => k !== key)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const same = byRest.get(rest) ?? [];
      same.push(p);
      byRest.set(rest, same);
    }
    for (const same of byRest.values()) {
      let chunk: Parsed[] = [];
      const flush = () => {
        if (chunk.length === 0) return;
        const selector =
          chunk.length === 1
            ? chunk[0]!.raw
            : regexSelector(
                chunk[0]!,
                key,
                chunk.map((p) => p.labels.find(([k]) => k === key)![1]),
              );
        if (selector === undefined) for (const p of chunk) groups.push({ selector: p.raw, members: [p.raw] });
        else groups.push({ selector, members: chunk.map((p) => p.raw) });
        chunk = [];
      };
      for (const p of same) {
        const next = [...chunk, p];
        const candidate = regexSelector(
          next[0]!,
          key,
          next.map((q) => q.labels.find(([k]) => k === key)![1]),
        );
        if (chunk.length > 0 && (candidate === undefined || candidate.length > maxLength)) flush();
        chunk.push(p);
      }
      flush();
    }
  }
  return groups;
}
