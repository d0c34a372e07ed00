// The offloader counts time in microseconds: month ranges, archived ticks, restored points. A Warp 10
// configured with other `warp.timeunits` (ms, ns) would read, archive and DELETE the wrong range,
// silently. So the worker checks the instance's units at start (workers/main.ts) and refuses to run, and
// every script it sends begins with a guard that fails the request, before anything else in it runs,
// when a second is not 1,000,000 of the instance's units (src/warp10/runner.ts).
import type { Warp10Client } from './client.ts';

export const UNITS_PER_SECOND = 1_000_000;

/** Marks the guard's failure in Warp 10's error message; the units it found follow it. */
export const TIME_UNITS_MARK = 'OFFLOADER_TIME_UNITS';

/**
 * WarpScript put in front of every script, on its first line: `STU` is the instance's time units in one
 * second. Fails the request when it is not 1,000,000, naming what it found.
 */
export const TIME_UNITS_GUARD = `STU ${UNITS_PER_SECOND} != <% '${TIME_UNITS_MARK} ' STU TOSTRING + ' time units a second' + MSGFAIL %> IFT`;

const NAMES: Record<number, string> = { 1_000: 'ms', 1_000_000: 'us', 1_000_000_000: 'ns' };

/** What to tell the operator when the instance counts `perSecond` units a second. */
export function timeUnitsProblem(perSecond: number, url?: string): string {
  const setting = NAMES[perSecond] ? `warp.timeunits = ${NAMES[perSecond]}` : 'an unknown warp.timeunits';
  return (
    `Warp 10${url ? ` at ${url}` : ''} counts ${perSecond} time units a second (${setting}); the offloader ` +
    `computes every month in microseconds and needs warp.timeunits = us (${UNITS_PER_SECOND} a second), or ` +
    'it would archive and delete the wrong range. Nothing was read, archived or deleted. Point warp10.url at ' +
    'a Warp 10 configured with warp.timeunits = us (never change warp.timeunits on an instance that holds ' +
    'data: its stored ticks would be read in the new unit)'
  );
}

/** The units per second the guard found, from a WarpScript error message; undefined for other errors. */
export function guardUnits(warpMessage: string): number | undefined {
  const m = new RegExp(`${TIME_UNITS_MARK} (\\d+) time units`).exec(warpMessage);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export class Warp10TimeUnitsError extends Error {
  override name = 'Warp10TimeUnitsError';
  constructor(
    readonly perSecond: number,
    url: string,
  ) {
    super(timeUnitsProblem(perSecond, url));
  }
}

/** Asks the instance how many units one second is; throws Warp10TimeUnitsError unless microseconds. */
export async function checkTimeUnits(client: Warp10Client): Promise<number> {
  const { stack } = await client.exec<[unknown]>('STU', { name: 'time-units check' });
  const perSecond = Number(stack[0]);
  if (perSecond !== UNITS_PER_SECOND) throw new Warp10TimeUnitsError(perSecond, client.url);
  return perSecond;
}
