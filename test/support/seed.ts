// Synthetic series for tests and the demo, in Warp 10's GTS input format.
export type Value = number | boolean | string | bigint;

export interface SeedPoint {
  ts: number;
  value: Value;
  lat?: number;
  lon?: number;
  elev?: number;
}

export interface SeedSeries {
  cls: string;
  labels: Record<string, string>;
  points: SeedPoint[];
}

const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function valueText(v: Value): string {
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (typeof v === 'string') return `'${enc(v)}'`;
  if (typeof v === 'number' && !Number.isInteger(v)) return String(v);
  return String(v);
}

export function toInputFormat(series: SeedSeries[]): string {
  const out: string[] = [];
  for (const s of series) {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => `${enc(k)}=${enc(v)}`)
      .join(',');
    for (const p of s.points) {
      const loc = p.lat !== undefined && p.lon !== undefined ? `${p.lat}:${p.lon}` : '';
      const elev = p.elev !== undefined ? String(p.elev) : '';
      out.push(`${p.ts}/${loc}/${elev} ${enc(s.cls)}{${labels}} ${valueText(p.value)}`);
    }
  }
  return out.join('\n');
}
