// The bounds of a test's month in UTC, as plain numbers of microseconds.
import { monthRange } from '../../src/month.ts';

/** `S`: the first µs of `month` (YYYY-MM, UTC); `E`: the first µs of the next month. */
export function utcMonth(month: string): { S: number; E: number } {
  const { startUs, endUs } = monthRange(month, 'UTC');
  return { S: Number(startUs), E: Number(endUs) };
}
