// Durations as configured ('6 hours', '3 days', '90 minutes'). Pure: workflow code may import it.

const DURATION =
  /^(\d+(?:\.\d+)?) ?(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)$/i;
const DURATION_UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1e3,
  m: 60e3,
  h: 3_600e3,
  d: 86_400e3,
  w: 604_800e3,
};

/** '3 days', '12h', '90 minutes' in milliseconds (the forms Temporal's durations accept), or undefined. */
export function durationMs(s: string): number | undefined {
  const m = DURATION.exec(s.trim());
  if (!m?.[1] || !m[2]) return undefined;
  const unit = m[2].toLowerCase();
  const key = unit.startsWith('ms') || unit.startsWith('milli') ? 'ms' : unit[0];
  const per = key === undefined ? undefined : DURATION_UNIT_MS[key];
  return per === undefined ? undefined : Math.round(Number(m[1]) * per);
}
