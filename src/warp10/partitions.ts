// Batches of a large dataset named by ONE selector each: the dataset's selector plus a regex on one label
// (K) that matches a set of value prefixes. Warp 10 scans the class's metadata once per selector a
// request names, so a batch named series by series (UUID-like labels share little) costs a scan per
// series and the month grows with its series squared; a prefix partition costs one scan a request.
//
// The partitions of a plan are disjoint (their prefixes form a prefix-free set, exact values aside) and
// cover every value listed at plan time: a series of the dataset matches at most one batch's selector,
// so its guarded delete never meets a series of another batch. A series created later with a value no
// prefix covers (or without K) matches none: the recheck finds it and archives it in a batch of its own.
import type { Selector } from '../config/schema.ts';
import { encodeSelectorPart, escapeRegex } from './selector-text.ts';

/** One batch: values of K starting with one of `prefixes`, or equal to one of `exact`. */
export interface PartitionSpec {
  prefixes: string[];
  exact: string[];
  /** Series listed in it at plan time. */
  series: number;
}

/** At most this many alternatives in one regex: matching stays a handful of comparisons a series. */
const MAX_ALTERNATIVES = 32;

/** Labels of an exact selector `class{k=v,...}` as TOSELECTOR writes it (URL-encoded values). */
export function selectorLabels(selector: string): Map<string, string> | undefined {
  const open = selector.indexOf('{');
  if (open < 0 || !selector.endsWith('}')) return undefined;
  const body = selector.slice(open + 1, -1);
  const labels = new Map<string, string>();
  for (const pair of body === '' ? [] : body.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    try {
      labels.set(decodeURIComponent(pair.slice(0, eq)), decodeURIComponent(pair.slice(eq + 1)));
    } catch {
      return undefined;
    }
  }
  return labels;
}

/**
 * The label to partition on: present in every series, not constrained by the dataset's selector, with
 * the most distinct values (ties: the name first in order). Undefined when no label fits.
 */
export function choosePartitionLabel(series: Map<string, string>[], selector: Selector): string | undefined {
  if (series.length === 0) return undefined;
  const constrained = new Set(Object.keys(selector.labels));
  let best: string | undefined;
  let most = 1;
  for (const name of [...series[0]!.keys()].sort()) {
    if (constrained.has(name) || name.startsWith('.')) continue;
    const values = new Set<string>();
    let everywhere = true;
    for (const labels of series) {
      const v = labels.get(name);
      if (v === undefined || v === '') {
        everywhere = false;
        break;
      }
      values.add(v);
    }
    if (everywhere && values.size > most) [best, most] = [name, values.size];
  }
  return best;
}

interface Leaf {
  /** A value prefix (`exact` false) or a whole value (`exact` true). */
  text: string;
  exact: boolean;
  series: number;
}

/**
 * Splits the values (one per series) into leaves of at most `maxSeries` series, in sorted order: a
 * prefix with too many series is split by its next character; a value that is itself a prefix of others
 * becomes an exact leaf. A single value held by more than `maxSeries` series stays one leaf.
 */
function leaves(values: string[], maxSeries: number): Leaf[] {
  const sorted = [...values].sort();
  const out: Leaf[] = [];
  const split = (from: number, to: number, prefix: string) => {
    if (to - from <= maxSeries) {
      out.push({ text: prefix, exact: false, series: to - from });
      return;
    }
    let i = from;
    let exact = 0;
    while (i < to && sorted[i]!.length === prefix.length) [i, exact] = [i + 1, exact + 1];
    if (exact > 0) out.push({ text: prefix, exact: true, series: exact });
    while (i < to) {
      // Code points, not UTF-16 units: a prefix never ends inside a surrogate pair.
      const cp = sorted[i]!.codePointAt(prefix.length)!;
      const next = prefix + String.fromCodePoint(cp);
      let j = i;
      while (j < to && sorted[j]!.startsWith(next)) j++;
      split(i, j, next);
      i = j;
    }
  };
  split(0, sorted.length, '');
  return out;
}

/** Leaves gathered, in order, into batches of at most `maxSeries` series and few alternatives. */
export function buildPartitions(values: string[], maxSeries: number): PartitionSpec[] {
  const specs: PartitionSpec[] = [];
  let cur: PartitionSpec = { prefixes: [], exact: [], series: 0 };
  const flush = () => {
    if (cur.prefixes.length + cur.exact.length > 0) specs.push(cur);
    cur = { prefixes: [], exact: [], series: 0 };
  };
  for (const leaf of leaves(values, Math.max(1, maxSeries))) {
    const alternatives = cur.prefixes.length + cur.exact.length;
    if (alternatives > 0 && (cur.series + leaf.series > maxSeries || alternatives >= MAX_ALTERNATIVES))
      flush();
    (leaf.exact ? cur.exact : cur.prefixes).push(leaf.text);
    cur.series += leaf.series;
  }
  flush();
  return specs;
}

/** The regex (whole-value match, as Warp 10 applies it) of a partition on its label. */
export function partitionRegex(spec: PartitionSpec): string {
  const alts = [...spec.prefixes.map((p) => `${escapeRegex(p)}.*`), ...spec.exact.map((e) => escapeRegex(e))];
  // (?s): a value holding a newline still matches its prefix.
  return `(?s)^(?:${alts.join('|')})$`;
}

/** One regex matching every value any of the partitions covers (what the recheck leaves out). */
export function coveringRegex(specs: readonly PartitionSpec[]): string {
  const alts = specs.flatMap((s) => [
    ...s.prefixes.map((p) => `${escapeRegex(p)}.*`),
    ...s.exact.map(escapeRegex),
  ]);
  return `(?s)^(?:${alts.join('|')})$`;
}

/** Whether a label value falls in the partition (what Warp 10 evaluates with the regex). */
export function inPartition(value: string, spec: PartitionSpec): boolean {
  return spec.exact.includes(value) || spec.prefixes.some((p) => value.startsWith(p));
}

const enc = encodeSelectorPart;
const selectorPart = (v: string) =>
  v.startsWith('~') ? `~${enc(v.slice(1))}` : `=${enc(v.replace(/^=/, ''))}`;

/**
 * The one selector string of a partition batch: the dataset's class and labels plus `K~regex`, values
 * encoded by encodeSelectorPart (a raw `~` in the regex would cut it short). FETCH, FIND and DELETE all
 * take it as is.
 */
export function partitionSelector(dataset: Selector, label: string, spec: PartitionSpec): string {
  return selectorString(dataset, [`${enc(label)}~${enc(partitionRegex(spec))}`]);
}

/** The dataset's selector as one string (with `extra` label parts appended). */
export function selectorString(dataset: Selector, extra: string[] = []): string {
  const cls = dataset.class.startsWith('~')
    ? `~${enc(dataset.class.slice(1))}`
    : enc(dataset.class.replace(/^=/, ''));
  const labels = Object.entries(dataset.labels).map(([k, v]) => `${enc(k)}${selectorPart(v)}`);
  return `${cls}{${[...labels, ...extra].join(',')}}`;
}
