// Datasets found at run time: one per distinct value of a label (the reference's "one subflow per
// customer"). A label value can be anything Warp 10 accepts, so the dataset name (which ends up in
// workflow IDs and store keys) is derived from it safely, and the selector matches the value exactly.
import { createHash } from 'node:crypto';
import type { DiscoverConfig, Selector } from '../config/schema.ts';

export const DATASET_NAME = /^[a-z0-9][a-z0-9._-]{0,126}$/;

const hash = (value: string, chars: number) =>
  createHash('sha256').update(value, 'utf8').digest('hex').slice(0, chars);

function sanitized(value: string): string {
  const base = value.toLowerCase().replace(/[^a-z0-9._-]/g, '-');
  return /^[a-z0-9]/.test(base) ? base : `v${base}`;
}

function withHash(value: string, chars: number): string {
  return `${sanitized(value).slice(0, 127 - 1 - chars)}-${hash(value, chars)}`;
}

/**
 * The dataset name for a label value: the value itself when it is already a valid name; otherwise
 * lowercased, every other character turned into '-', cut to fit, plus a hash of the exact value so
 * two values that read alike ("ACME" and "acme") never share a name.
 */
export function discoveredDatasetName(value: string): string {
  return DATASET_NAME.test(value) ? value : withHash(value, 8);
}

/**
 * Names for every value, unique among themselves and apart from `taken` (the group's configured
 * datasets). Values are sorted first, so the same values always give the same names in the same order.
 */
export function nameDiscovered(
  values: Iterable<string>,
  taken: Iterable<string>,
): { name: string; value: string }[] {
  const used = new Set(taken);
  const out: { name: string; value: string }[] = [];
  for (const value of [...new Set(values)].sort()) {
    let name = discoveredDatasetName(value);
    // A clash (a value equal to a configured name, or to another value's derived name): a hash, then
    // a longer one; 64 hex characters of SHA-256 never clash in practice.
    for (const chars of [8, 16, 64]) {
      if (!used.has(name)) break;
      name = withHash(value, chars);
    }
    if (used.has(name)) {
      throw new Error(`cannot derive a unique dataset name for label value ${JSON.stringify(value)}`);
    }
    used.add(name);
    out.push({ name, value });
  }
  return out;
}

/** Warp 10 reads a label selector starting with '=' as an exact match of the rest, whatever it holds. */
export function exactLabel(value: string): string {
  return `=${value}`;
}

/** The selector of the dataset discovered for `value`: the discover selector plus label = value exactly. */
export function discoveredSelector(
  discover: Pick<DiscoverConfig, 'selector' | 'byLabel'>,
  value: string,
): Selector {
  return {
    class: discover.selector.class,
    labels: { ...discover.selector.labels, [discover.byLabel]: exactLabel(value) },
  };
}
