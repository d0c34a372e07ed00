// Where a workflow's time went, from its history: per activity type, the wall span (first scheduled to
// last completed) and the lane time (started to completed, summed over its runs).
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

export interface ActivityPhase {
  n: number;
  wallMs: number;
  laneMs: number;
}

const at = (e: Event) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

/** Activity types of the events (one history or several runs' concatenated), in order of first use. */
export function activityPhases(
  events: readonly Event[],
  into = new Map<string, ActivityPhase & { from: number; to: number }>(),
) {
  const scheduled = new Map<number, { type: string; at: number }>();
  const started = new Map<number, number>();
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(Number(e.eventId), { type: s.activityType?.name ?? '?', at: at(e) });
    const st = e.activityTaskStartedEventAttributes;
    if (st) started.set(Number(st.scheduledEventId), at(e));
    const c = e.activityTaskCompletedEventAttributes;
    if (!c) continue;
    const from = scheduled.get(Number(c.scheduledEventId));
    if (!from) continue;
    const p = into.get(from.type) ?? { n: 0, wallMs: 0, laneMs: 0, from: from.at, to: at(e) };
    p.n++;
    p.from = Math.min(p.from, from.at);
    p.to = Math.max(p.to, at(e));
    p.wallMs = p.to - p.from;
    p.laneMs += at(e) - (started.get(Number(c.scheduledEventId)) ?? from.at);
    into.set(from.type, p);
  }
  return into;
}

/** `exportBatch 5: 20.1 s wall, 38.0 lane-s; ...` */
export const describePhases = (phases: ReadonlyMap<string, ActivityPhase>) =>
  [...phases]
    .map(
      ([k, p]) =>
        `${k} ${p.n}: ${(p.wallMs / 1000).toFixed(1)} s wall, ${(p.laneMs / 1000).toFixed(1)} lane-s`,
    )
    .join('; ');
