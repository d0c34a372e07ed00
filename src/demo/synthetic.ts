// A realistic synthetic month for the demo and benchmarks: infrastructure-like and client-like series
// of several value types, generated deterministically and streamed in GTS input format.

export interface SyntheticPlan {
  /** Series and classes generated: infra (os.cpu, os.mem, net.bytes, os.up) and clients (client.*). */
  hosts: number;
  cores: number;
  clients: number;
  /** One point every `stepUs` microseconds over [startUs, endUs). */
  stepUs: number;
  startUs: number;
  endUs: number;
}

interface SeriesSpec {
  cls: string;
  labels: string;
  kind: 'double' | 'long' | 'boolean' | 'string';
  seed: number;
}

function* seriesOf(p: SyntheticPlan): Generator<SeriesSpec> {
  let seed = 1;
  for (let h = 0; h < p.hosts; h++) {
    const host = `hv-${String(h).padStart(4, '0')}`;
    const dc = ['par1', 'par2', 'rbx', 'gra'][h % 4];
    for (let c = 0; c < p.cores; c++) {
      yield { cls: 'os.cpu', labels: `dc=${dc},host=${host},core=${c}`, kind: 'double', seed: seed++ };
    }
    yield { cls: 'os.mem', labels: `dc=${dc},host=${host}`, kind: 'long', seed: seed++ };
    yield { cls: 'net.bytes', labels: `dc=${dc},host=${host},if=eth0`, kind: 'long', seed: seed++ };
    yield { cls: 'os.up', labels: `dc=${dc},host=${host}`, kind: 'boolean', seed: seed++ };
  }
  for (let c = 0; c < p.clients; c++) {
    const owner = `orga_${(c * 2654435761) % 1_000_003}`;
    yield {
      cls: 'client.http.requests',
      labels: `owner=${owner},app=app-${c % 7}`,
      kind: 'long',
      seed: seed++,
    };
    yield { cls: 'client.jvm.heap', labels: `owner=${owner},app=app-${c % 7}`, kind: 'double', seed: seed++ };
    yield { cls: 'client.deploy.state', labels: `owner=${owner}`, kind: 'string', seed: seed++ };
  }
}

export function seriesCount(p: SyntheticPlan): number {
  return p.hosts * (p.cores + 3) + p.clients * 3;
}

/** A cheap deterministic pseudo-random sequence (no need for crypto quality). */
function rng(seed: number) {
  let x = seed * 2654435761;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 1_000_000) / 1_000_000;
  };
}

const STATES = ['running', 'deploying', 'stopped', 'failed%20health%20check'];

/** Yields chunks of GTS input format lines (about `linesPerChunk` each), series by series. */
export function* inputFormatChunks(p: SyntheticPlan, linesPerChunk = 50_000): Generator<string> {
  let lines: string[] = [];
  for (const s of seriesOf(p)) {
    const r = rng(s.seed);
    let level = r() * 100;
    let counter = Math.floor(r() * 1e6);
    let first = true;
    for (let ts = p.startUs + Math.floor(r() * p.stepUs); ts < p.endUs; ts += p.stepUs) {
      level = Math.max(0, Math.min(100, level + (r() - 0.5) * 8));
      let value: string;
      switch (s.kind) {
        case 'double':
          value = level.toFixed(3);
          break;
        case 'long':
          counter += Math.floor(r() * 5000);
          value = String(counter);
          break;
        case 'boolean':
          value = r() < 0.995 ? 'T' : 'F';
          break;
        case 'string':
          value = `'${STATES[Math.floor(r() * STATES.length)]}'`;
          break;
      }
      // Continuation lines (`=`) repeat the previous series: smaller payloads, faster ingestion.
      lines.push(first ? `${ts}// ${s.cls}{${s.labels}} ${value}` : `=${ts}// ${value}`);
      first = false;
      if (lines.length >= linesPerChunk) {
        yield lines.join('\n');
        lines = [];
        first = true;
      }
    }
  }
  if (lines.length > 0) yield lines.join('\n');
}
