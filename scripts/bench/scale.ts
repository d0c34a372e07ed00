// `npm run bench -- scale`: how the cost of a month grows with its data. One class per size, of the shape
// large deployments have (UUID-like `app` labels, 4 instances an app, `inst` 8 hex digits, `zone`), 10
// points a series in the month, at 50,000, 200,000 and 500,000 series, and today's archive benchmark
// shape (2,000 series x 1,488 points). Per size, side by side in one run: the offloader (plan → commit
// on a worker in this process, default configuration) against a plain script doing the same Warp 10
// work on identical classes (FETCH + WRAP export through gzip, one full read, one DELETE; once before the
// offloader and once after, the mean of the two), their ratio,
// the offloader's Warp 10 requests and the selectors they name (each a scan of the class's metadata),
// and seconds per million points. `BENCH_SCALE_SIZES=50000,200000` picks sizes; `BENCH_SCALE_DATASET` (JSON,
// e.g. `{"batchConcurrency":2}`) sets dataset settings over the defaults.
import { rmSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import path from 'node:path';
import { monthRange } from '../../src/month.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { httpRunner, type FeedingRunner } from '../../src/warp10/runner.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { DATA } from '../stack/common.ts';
import { activityPhases, describePhases } from './phases.ts';
import { countingRunner, describeRequests, type RequestCounts } from './requests.ts';
import {
  benchConfig,
  benchWorker,
  connectTemporal,
  monthBounds,
  plainFloor,
  requireWarp10,
  runArchive,
  secs,
} from './setup.ts';

const MONTH = '2001-03';

export interface Shape {
  name: string;
  series: number;
  points: number;
  /** Input-format lines of the class, in chunks. */
  lines: (cls: string) => Generator<string[]>;
}

export function uuidShape(series: number, month = MONTH): Shape {
  const { startUs, endUs } = monthRange(month, 'UTC');
  const [S, E] = [Number(startUs), Number(endUs)];
  const step = Math.floor((E - S) / 10);
  return {
    name: `${series.toLocaleString('en-US')} series x 10 points (UUID labels)`,
    series,
    points: series * 10,
    *lines(cls) {
      const out: string[] = [];
      for (let a = 0; a < series / 4; a++) {
        const app = randomUUID();
        for (let i = 0; i < 4; i++) {
          const inst = randomBytes(4).toString('hex');
          for (let p = 0; p < 10; p++) {
            const ts = S + p * step + (a % 1000);
            const v = ((a * 7 + p) % 1000) / 10;
            out.push(
              p === 0 ? `${ts}// ${cls}{app=${app},inst=${inst},zone=par${i % 3}} ${v}` : `=${ts}// ${v}`,
            );
          }
        }
        if (out.length >= 200_000) yield out.splice(0);
      }
      if (out.length > 0) yield out;
    },
  };
}

function longShape(): Shape {
  const { startUs } = monthRange(MONTH, 'UTC');
  const S = Number(startUs);
  const step = 30 * 60 * 1_000_000;
  return {
    name: '2,000 series x 1,488 points',
    series: 2_000,
    points: 2_000 * 1_488,
    *lines(cls) {
      const out: string[] = [];
      for (let h = 0; h < 250; h++) {
        for (let c = 0; c < 8; c++) {
          for (let p = 0; p < 1_488; p++) {
            const v = ((h * 13 + c * 7 + p) % 1000) / 10;
            out.push(p === 0 ? `${S}// ${cls}{host=h${h},cpu=${c}} ${v}` : `=${S + p * step}// ${v}`);
          }
        }
        if (out.length >= 200_000) yield out.splice(0);
      }
      if (out.length > 0) yield out;
    },
  };
}

export async function benchScale(): Promise<void> {
  const url = requireWarp10();
  const sizes = (process.env.BENCH_SCALE_SIZES ?? '50000,200000,500000').split(',').map(Number);
  const shapes = [longShape(), ...sizes.map((n) => uuidShape(n))];
  // Dataset settings over the defaults, e.g. `BENCH_SCALE_DATASET='{"batchConcurrency":4}'`.
  const datasetOptions = JSON.parse(process.env.BENCH_SCALE_DATASET ?? '{}') as Record<string, unknown>;
  const temporal = await connectTemporal();
  const { client } = temporal;
  const [S, E] = monthBounds(MONTH);
  let n = 0;
  const requests: RequestCounts = new Map();
  const runtimeFor = (cls: string, storePath: string, runner?: FeedingRunner): Runtime => {
    const config = benchConfig(
      cls,
      storePath,
      [{ name: cls.replace(/[^a-z0-9]/g, ''), selector: { class: cls }, ...datasetOptions }],
      { lateData: { lateness: '0 minutes' } },
    );
    return buildRuntime(config, { log: () => {}, ...(runner ? { runner } : {}) });
  };
  const seed = async (rt: Runtime, shape: Shape) => {
    const cls = `scale${Date.now().toString(36)}${n++}`;
    for (const chunk of shape.lines(cls)) await rt.client.update(rt.tokens.write, chunk.join('\n'));
    return cls;
  };

  /** One plain-script floor on a fresh class: FETCH + WRAP through gzip, one full read, one DELETE. */
  const plainRun = async (shape: Shape) => {
    const prt = runtimeFor('plain', path.join(DATA, 'bench', 'unused'));
    const pcls = await seed(prt, shape);
    const floor = await plainFloor(prt, pcls, [S, E]);
    await prt.close();
    return floor;
  };

  const settings = Object.keys(datasetOptions).length
    ? JSON.stringify(datasetOptions)
    : 'default configuration';
  console.log(`scale benchmark: offloader (${settings}) vs plain script, month ${MONTH}`);
  const rows: string[][] = [];
  for (const shape of shapes) {
    // The plain floor, on a class of its own, once before the offloader and once after: Warp 10's
    // LevelDB compacts the tombstones of a large DELETE for minutes after it, so whoever runs second
    // pays for the first; the floor is the mean of the two runs.
    const before = await plainRun(shape);
    // The offloader on an identical class.
    const storePath = path.join(DATA, 'bench', `scale-store-${Date.now().toString(36)}`);
    const srt = runtimeFor('seed', storePath);
    const cls = await seed(srt, shape);
    await srt.close();
    requests.clear();
    const rt = runtimeFor(cls, storePath, countingRunner(httpRunner(new Warp10Client({ url })), requests));
    const worker = await benchWorker(temporal, rt, cls);
    const dataset = cls.replace(/[^a-z0-9]/g, '');
    const ref = { group: 'bench', dataset, month: MONTH };
    const { workflowId, ms: totalMs, result } = await runArchive(temporal, worker, cls, ref);
    let events = 0;
    const phases = new Map();
    for await (const info of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      const h = await client.workflow.getHandle(workflowId, info.runId).fetchHistory();
      events = Math.max(events, h.events?.length ?? 0);
      activityPhases(h.events ?? [], phases);
    }
    // Plans and manifests against the data objects they describe.
    let meta = 0;
    let data = 0;
    // The seekable layout (gzip members of ~512 KiB) against the same lines as one member, as before.
    let single = 0;
    for (const o of await rt.store.list('')) {
      if (o.key.endsWith('.wrap.gz')) {
        data += o.bytes;
        single += gzipSync(gunzipSync(await rt.store.getRange(o.key, 0, o.bytes))).length;
      } else meta += o.bytes;
    }
    await rt.close();
    rmSync(storePath, { recursive: true, force: true });
    const after = await plainRun(shape);
    const [exportMs, readMs, deleteMs] = (['exportMs', 'readMs', 'deleteMs'] as const).map(
      (k) => (before[k] + after[k]) / 2,
    ) as [number, number, number];
    const floorMs = exportMs + readMs + deleteMs;
    const reqs = [...requests.values()].reduce((a, r) => a + r.n, 0);
    const scans = [...requests.values()].reduce((a, r) => a + r.selectors, 0);
    const mpts = result.points / 1e6;
    const row = [
      shape.name,
      `${result.batches}`,
      secs(totalMs),
      `${secs(floorMs)} (${secs(exportMs)} + ${secs(readMs)} + ${secs(deleteMs)})`,
      `${(floorMs / totalMs).toFixed(2)}x`,
      `${reqs}`,
      `${scans}`,
      `${(totalMs / 1000 / mpts).toFixed(1)}`,
      `${(floorMs / 1000 / mpts).toFixed(1)}`,
      `${events}`,
      `${(meta / data).toFixed(3)}x (${(meta / 1024).toFixed(0)} KiB / ${(data / 1024).toFixed(0)} KiB)`,
      `${((data / single - 1) * 100).toFixed(2)} %`,
    ];
    rows.push(row);
    console.log(`  ${row.join(' | ')}`);
    console.log(`    requests: ${describeRequests(requests)}`);
    console.log(`    activities: ${describePhases(phases)}`);
    console.log(
      `    plain floor before / after the offloader: ${secs(before.totalMs)} / ${secs(after.totalMs)}`,
    );
  }
  console.log('');
  console.log(
    '| shape | batches | offloader | plain floor (export + read + delete) | ratio (plain / offloader) | Warp 10 requests | selectors named (metadata scans) | offloader s / M points | plain s / M points | largest history (events) | plans + manifests / data | data vs one gzip member |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  await temporal.close();
}
