// `npm run bench -- churn` (issue 35): a class whose series churn, archived month after month, with and
// without `purgeEmptySeries`. Each month LIVE series hold 10 points and REPLACED of them are new (the
// oldest REPLACED stop), the shape of one series per application instance. Month k+1's points are written
// before month k is archived (as in production, the month after is being written while a month is
// archived), so the series that stopped in month k hold no point once month k is archived. Each variant
// runs on a Warp 10 of its own (a fresh data folder), so that its directory and its start-up time are its
// own. Printed per month: the archive's time (plan → commit, and the purge), the series the directory
// holds after it, and at the end Warp 10's start-up time with that directory.
// BENCH_CHURN_LIVE (200000), BENCH_CHURN_REPLACED (50000), BENCH_CHURN_MONTHS (6) set the shape;
// BENCH_CHURN_VARIANTS (purge,keep) which variants run.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { freePort } from '../../src/metrics/server.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { httpRunner } from '../../src/warp10/runner.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { DATA } from '../stack/common.ts';
import { startStandalone, type StandaloneInstance } from '../stack/warp10.ts';
import { countingRunner, describeRequests, type RequestCounts } from './requests.ts';
import { benchWorker, connectTemporal, monthBounds, runArchive, secs, timed } from './setup.ts';

const FIRST_YEAR = 2002;
const month = (k: number) => `${FIRST_YEAR}-${String(k).padStart(2, '0')}`;

/** A UUID-like label value of series `i` (stable, spread over every hex prefix). */
const uuid = (i: number) => {
  const h = createHash('sha1').update(String(i)).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

/** Input-format lines of month k: series (k-1)*replaced .. +live-1, 10 points each, in chunks. */
function* monthLines(cls: string, k: number, live: number, replaced: number): Generator<string> {
  const [S, E] = monthBounds(month(k));
  const step = Math.floor((E - S) / 10);
  const first = (k - 1) * replaced;
  const out: string[] = [];
  for (let i = first; i < first + live; i++) {
    for (let p = 0; p < 10; p++) {
      const ts = S + p * step + (i % 1000);
      const v = ((i * 7 + p) % 1000) / 10;
      out.push(p === 0 ? `${ts}// ${cls}{id=${uuid(i)},zone=par${i % 3}} ${v}` : `=${ts}// ${v}`);
    }
    if (out.length >= 200_000) yield out.splice(0).join('\n');
  }
  if (out.length > 0) yield out.join('\n');
}

/** Series of the class in Warp 10's directory (the find endpoint streams one line a series). */
async function directorySize(w: StandaloneInstance, cls: string): Promise<number> {
  const res = await fetch(`${w.url}/api/v0/find?selector=${encodeURIComponent(`${cls}{}`)}`, {
    headers: { 'X-Warp10-Token': w.readToken },
  });
  if (!res.ok) throw new Error(`find failed: ${res.status} ${await res.text()}`);
  let n = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    for (const b of chunk) if (b === 10) n++;
  }
  return n;
}

interface MonthRow {
  month: string;
  archiveMs: number;
  purgeMs: number;
  purged: number;
  directory: number;
}

async function variant(purge: boolean, live: number, replaced: number, months: number) {
  const name = purge ? 'purge' : 'keep';
  const dataDir = path.join(DATA, 'bench', `churn-${name}-${Date.now().toString(36)}`);
  const storePath = path.join(dataDir, 'archive');
  const port = await freePort();
  const start = () =>
    startStandalone({
      name: `warp10-churn-${name}`,
      dataDir,
      port,
      archiveStore: { 'archive.fetch.dir': storePath },
    });
  let w = await start();
  process.env.CHURN_READ_TOKEN = w.readToken;
  process.env.CHURN_WRITE_TOKEN = w.writeToken;
  const cls = `churn${name}${Date.now().toString(36)}`;
  const dataset = cls;
  const taskQueue = `bench-${cls}`;
  const config = parseConfig(
    {
      warp10: {
        url: w.url,
        readToken: { env: 'CHURN_READ_TOKEN' },
        writeToken: { env: 'CHURN_WRITE_TOKEN' },
      },
      temporal: { taskQueue },
      store: { type: 'local', path: storePath },
      lateData: { lateness: '0 minutes' },
      groups: [
        { name: 'bench', datasets: [{ name: dataset, selector: { class: cls }, purgeEmptySeries: purge }] },
      ],
    },
    'bench',
  );
  const requests: RequestCounts = new Map();
  const rt = buildRuntime(config, {
    log: () => {},
    runner: countingRunner(httpRunner(new Warp10Client({ url: w.url })), requests),
  });
  const temporal = await connectTemporal();
  const rows: MonthRow[] = [];
  try {
    const write = async (k: number) => {
      const [ms] = await timed(async () => {
        for (const chunk of monthLines(cls, k, live, replaced))
          await rt.client.update(rt.tokens.write, chunk);
      });
      return ms;
    };
    console.log(
      `  ${name}: writing ${month(1)} (${live.toLocaleString('en-US')} series) in ${secs(await write(1))}`,
    );
    for (let k = 1; k <= months; k++) {
      const ingest = await write(k + 1);
      const worker = await benchWorker(temporal, rt, taskQueue);
      requests.clear();
      const ref = { group: 'bench', dataset, month: month(k) };
      const { workflowId, ms, result } = await runArchive(temporal, worker, taskQueue, ref);
      // The purge's own time, from the history of the run (its activity's scheduled → completed).
      let purgeMs = 0;
      const h = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
      const scheduled = new Map<string, number>();
      for (const e of h.events ?? []) {
        const at = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
        const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
        if (type === 'purgeEmptySeries') scheduled.set(String(e.eventId), at);
        const done = e.activityTaskCompletedEventAttributes;
        if (done && scheduled.has(String(done.scheduledEventId)))
          purgeMs += at - scheduled.get(String(done.scheduledEventId))!;
      }
      const row = {
        month: month(k),
        archiveMs: ms,
        purgeMs,
        purged: result.purge?.purged ?? 0,
        directory: await directorySize(w, cls),
      };
      rows.push(row);
      const p = requests.get('archive-purge');
      console.log(
        `    archive-purge: ${p?.n ?? 0} requests, ${secs(p?.ms ?? 0)} in Warp 10; all: ${describeRequests(requests)}`,
      );
      console.log(
        `  ${name} ${row.month}: ${result.series.toLocaleString('en-US')} series archived in ${secs(ms)} (purge ${secs(purgeMs)}, ${row.purged.toLocaleString('en-US')} purged); directory ${row.directory.toLocaleString('en-US')} series; next month written in ${secs(ingest)}`,
      );
    }
    await w.stop();
    const [startMs, again] = await timed(start);
    w = again;
    const directory = await directorySize(w, cls);
    console.log(
      `  ${name}: Warp 10 ready ${secs(startMs)} after its start with ${directory.toLocaleString('en-US')} series`,
    );
    return { name, rows, startMs, directory };
  } finally {
    await rt.close();
    await temporal.close();
    await w.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchChurn(): Promise<void> {
  const live = Number(process.env.BENCH_CHURN_LIVE ?? 200_000);
  const replaced = Number(process.env.BENCH_CHURN_REPLACED ?? 50_000);
  const months = Number(process.env.BENCH_CHURN_MONTHS ?? 6);
  const variants = (process.env.BENCH_CHURN_VARIANTS ?? 'purge,keep').split(',');
  console.log(
    `churn benchmark: ${live.toLocaleString('en-US')} live series, ${replaced.toLocaleString('en-US')} replaced a month, ${months} months archived`,
  );
  const results = [];
  for (const v of variants) results.push(await variant(v === 'purge', live, replaced, months));
  console.log('');
  console.log(
    '| variant | month 1 archive | month ' +
      months +
      ' archive | growth | purge (month ' +
      months +
      ') | directory after month ' +
      months +
      ' | directory / live | Warp 10 start-up |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const first = r.rows[0]!;
    const last = r.rows.at(-1)!;
    console.log(
      `| ${r.name === 'purge' ? 'purgeEmptySeries' : 'without purge (as before)'} | ${secs(first.archiveMs)} | ${secs(last.archiveMs)} | ${((last.archiveMs / first.archiveMs - 1) * 100).toFixed(1)} % | ${secs(last.purgeMs)} | ${last.directory.toLocaleString('en-US')} | ${(last.directory / live).toFixed(2)}x | ${secs(r.startMs)} |`,
    );
  }
}
