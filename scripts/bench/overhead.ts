// npm run bench -- overhead: what orchestration costs per dataset. A throwaway month of 1,000 tiny
// datasets (one label value each, a few series of a few points) is seeded into the stack's Warp 10 and
// archived by the real monthly run (monthlyOffload → groupOffload, parallel, concurrency 8, datasets
// found by `discover` as an operator would configure 1,000 of them) on a worker in this process; then the
// same data is seeded again and a plain script sends the same Warp 10 requests, 8 datasets at a time:
// one discovery, and per dataset the plan listing, the export (FETCH + WRAP, gzip to a file), the
// guarded delete and the listing again (the offloader's recheck for late series), with the project's own
// .mc2 scripts over HTTP. Overhead per dataset = (offloader −
// plain) / datasets. Last, the same offloader run against a second, in-memory Temporal dev server, to
// tell the dev server's SQLite from the rest. Each run counts Warp 10 requests and store calls, and
// reads the group's histories to say where the Temporal work goes (pages, archive runs, events).
import { createWriteStream, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { parseConfig } from '../../src/config/load.ts';
import { monthRange } from '../../src/month.ts';
import { groupWorkflowId } from '../../src/offload/ids.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { createOffloadWorker } from '../../src/worker/worker.ts';
import { topListItems } from '../../src/warp10/json-stream.ts';
import { groupSelectors } from '../../src/warp10/selectors.ts';
import type { MonthlyResult } from '../../src/workflows/monthly.ts';
import { DATA, ensureDir, readPid } from '../stack/common.ts';
import { startInMemoryTemporal } from '../stack/temporal.ts';
import type { BenchRow } from './table.ts';

const MONTH = '2001-06';
const SERIES = 3; // per dataset
const POINTS = 4; // per series
const WEEK = 7 * 86_400 * 1_000_000;

export interface OverheadOptions {
  datasets: number;
  concurrency: number;
  workflowBundle: { code: string };
  /** Also run the offloader against an in-memory Temporal dev server. */
  inMemory?: boolean;
}

/** Where the Temporal work of the run goes, read from every group run's history. */
export interface Profile {
  /** Page activities (small datasets archived by the group run) and archive workflows started. */
  pages: number;
  archiveRuns: number;
  /** Per dataset: history events (group runs + archive runs), activities and workflow tasks of the group. */
  events: number;
  activities: number;
  workflowTasks: number;
  /** Mean per page activity, ms: running, and queued before a worker took it. */
  pageRunMs: number;
  pageWaitMs: number;
}

export interface OffloaderRun {
  totalMs: number;
  perDatasetMs: number;
  warp10Requests: Record<string, number>;
  storeCalls: Record<string, number>;
  profile: Profile;
  /** Events of the group's runs (continue-as-new chain) and of the monthly run. */
  groupRunEvents: number[];
  monthlyEvents: number;
  /** CPU ms per dataset: this process (worker), the Temporal server, Warp 10. */
  cpu: { worker: number; temporal: number; warp10: number };
}

export interface OverheadFigures {
  datasets: number;
  concurrency: number;
  sqlite: OffloaderRun;
  plainMs: number;
  plainPerDatasetMs: number;
  plainCpu: { script: number; warp10: number };
  inMemory?: OffloaderRun;
}

/**
 * A free port below the ephemeral range: the dev server picks its internal services' ports from that
 * range itself, and one of them can land on a port just released by a `listen(0)` probe.
 */
async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port between 20000 and 29999');
}

/** Counts every method call of `target` by name (prefixed by `key(args)` when given). */
function counted<T extends object>(
  target: T,
  counts: Record<string, number>,
  key: (name: string, args: unknown[]) => string = (n) => n,
): T {
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string' || prop === 'close') return v;
      return (...args: unknown[]) => {
        const k = key(prop, args);
        counts[k] = (counts[k] ?? 0) + 1;
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

/** CPU time (user + system, ms) a process has used so far; 0 when it cannot be read. */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

export async function benchOverhead(opts: OverheadOptions): Promise<OverheadFigures> {
  if (!process.env.WARP10_URL) throw new Error('no Warp 10: run npm run stack:up (or set WARP10_URL)');
  const { datasets: N, concurrency } = opts;
  const { startUs, endUs } = monthRange(MONTH, 'UTC');
  const [S, E] = [Number(startUs), Number(endUs)];
  const stamp = Date.now().toString(36);
  let n = 0;
  const values = Array.from({ length: N }, (_, i) => `c${String(i).padStart(5, '0')}`);

  function config(cls: string, group: string, storePath: string, taskQueue: string) {
    return parseConfig(
      {
        warp10: {
          url: process.env.WARP10_URL,
          readToken: { env: 'WARP10_READ_TOKEN' },
          writeToken: { env: 'WARP10_WRITE_TOKEN' },
        },
        temporal: { taskQueue },
        store: { type: 'local', path: storePath },
        groups: [
          {
            name: group,
            mode: 'parallel',
            concurrency,
            discover: { selector: { class: cls }, byLabel: 'customer' },
          },
        ],
      },
      'bench',
    );
  }

  /** A fresh class: N label values x SERIES series x POINTS points, in one update. */
  async function seed(rt: Runtime): Promise<string> {
    const cls = `ovh${stamp}${n++}.tiny`;
    const lines: string[] = [];
    for (const v of values) {
      for (let s = 0; s < SERIES; s++) {
        for (let p = 0; p < POINTS; p++)
          lines.push(`${S + p * WEEK}// ${cls}{customer=${v},metric=m${s}} ${p + s}`);
      }
    }
    await rt.client.update(rt.tokens.write, `${lines.join('\n')}\n`);
    return cls;
  }

  const storeRoot = ensureDir(path.join(DATA, 'bench', `overhead-${stamp}`));
  const seedRt = buildRuntime(config('seed', 'seed', path.join(storeRoot, 'unused'), 'unused'));

  const plainCpu = { script: 0, warp10: 0 };
  /** The plain script: the offloader's Warp 10 requests for the same datasets, `concurrency` at a time. */
  async function plain(): Promise<number> {
    const cls = await seed(seedRt);
    const rt = seedRt;
    const dir = ensureDir(path.join(storeRoot, 'plain'));
    const cpu0 = [process.cpuUsage(), cpuMs(readPid('warp10'))] as const;
    const t0 = performance.now();
    const [found] = await rt.runner.run<[{ values: string[] }]>('discover-datasets', {
      token: rt.tokens.read,
      class: cls,
      labels: {},
      label: 'customer',
      gskip: 0,
      gcount: 10_000,
    });
    const todo = [...found.values].sort();
    const one = async (v: string) => {
      const labels = { customer: `=${v}` };
      const list = () =>
        rt.runner.run<[{ selectors: string[] }]>('archive-plan', {
          token: rt.tokens.read,
          class: cls,
          labels,
          start: S,
          end: E - 1,
          gskip: 0,
          gcount: 5_000,
        });
      const [planned] = await list();
      const selectors = planned.selectors;
      const body = await rt.runner.stream('archive-read', {
        token: rt.tokens.read,
        selectors,
        fetch: groupSelectors(selectors).map((g) => g.selector),
        start: S,
        end: E - 1,
        wrap: true,
      });
      const expected: [string, number, number | null, number | null][] = [];
      async function* lines() {
        for await (const item of topListItems(body)) {
          const [sel, points, first, last, wrapped] = item as [string, number, number, number, string];
          expected.push([sel, points, first, last]);
          yield `${wrapped}\n`;
        }
      }
      await pipeline(Readable.from(lines()), createGzip(), createWriteStream(path.join(dir, `${v}.wrap.gz`)));
      const [outcome] = await rt.runner.run<[{ deleted: number }]>('archive-delete', {
        readToken: rt.tokens.read,
        writeToken: rt.tokens.write,
        expected,
        groups: groupSelectors(expected.map((e) => e[0])).map((g) => [g.selector, g.members]),
        start: S,
        end: E - 1,
      });
      if (outcome.deleted !== SERIES) throw new Error(`plain: ${v} deleted ${outcome.deleted} series`);
      // The offloader lists the dataset's series with data in the month once more before committing
      // (late series); the same request here, so both do the same Warp 10 work.
      const [left] = await list();
      if (left.selectors.length !== 0) throw new Error(`plain: ${v} still has data after its delete`);
    };
    let next = 0;
    const lane = async () => {
      while (next < todo.length) await one(todo[next++]!);
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    const total = performance.now() - t0;
    const used = process.cpuUsage(cpu0[0]);
    plainCpu.script = (used.user + used.system) / 1000 / N;
    plainCpu.warp10 = (cpuMs(readPid('warp10')) - cpu0[1]) / N;
    if (todo.length !== N) throw new Error(`plain: discovered ${todo.length} datasets, expected ${N}`);
    return total;
  }

  /** The real monthly run of one group of N discovered datasets, on a worker in this process. */
  async function offloader(address: string, label: string, serverPid?: number): Promise<OffloaderRun> {
    const native = await NativeConnection.connect({ address });
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const seedCls = await seed(seedRt);
    const group = `ovh-${stamp}-${n}`;
    const taskQueue = `ovh-${stamp}-${n}`;
    const storePath = path.join(storeRoot, group);
    const base = buildRuntime(config(seedCls, group, storePath, taskQueue));
    const warp10Requests: Record<string, number> = {};
    const storeCalls: Record<string, number> = {};
    const runtime: Runtime = {
      ...base,
      store: counted(base.store, storeCalls),
      runner: counted(base.runner, warp10Requests, (name, args) => `${name} ${String(args[0])}`),
    };
    const worker = await createOffloadWorker({
      connection: native,
      runtime,
      taskQueue,
      workflowBundle: opts.workflowBundle,
    });
    const workflowId = `bench-overhead/${group}`;
    const cpu0 = [process.cpuUsage(), cpuMs(serverPid), cpuMs(readPid('warp10'))] as const;
    const t0 = performance.now();
    const result = (await worker.runUntil(
      client.workflow.execute('monthlyOffload', {
        taskQueue,
        workflowId,
        args: [{ month: MONTH, groups: [group] }],
      }),
    )) as MonthlyResult;
    const totalMs = performance.now() - t0;
    const used = process.cpuUsage(cpu0[0]);
    const cpu = {
      worker: (used.user + used.system) / 1000 / N,
      temporal: (cpuMs(serverPid) - cpu0[1]) / N,
      warp10: (cpuMs(readPid('warp10')) - cpu0[2]) / N,
    };
    await base.close();
    if (result.archived !== N || result.failed + result.failedGroups > 0) {
      throw new Error(`${label}: ${result.summary}`);
    }

    // Where the Temporal work goes: every group run's history, and the archive runs, if any.
    const p: Profile = {
      pages: 0,
      archiveRuns: 0,
      events: 0,
      activities: 0,
      workflowTasks: 0,
      pageRunMs: 0,
      pageWaitMs: 0,
    };
    const groupRunEvents: number[] = [];
    for await (const w of client.workflow.list({
      query: `WorkflowId = '${groupWorkflowId(MONTH, group)}'`,
    })) {
      groupRunEvents.push(w.historyLength);
      const events = (await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory()).events ?? [];
      const at = new Map<number, number>();
      const pageScheduled = new Set<number>();
      for (const e of events) {
        const t = ms(e.eventTime);
        const id = Number(e.eventId);
        at.set(id, t);
        p.events++;
        if (e.workflowTaskCompletedEventAttributes) p.workflowTasks++;
        if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'archivePage')
          pageScheduled.add(id);
        const ats = e.activityTaskStartedEventAttributes;
        if (ats && pageScheduled.has(Number(ats.scheduledEventId)))
          p.pageWaitMs += t - (at.get(Number(ats.scheduledEventId)) ?? t);
        const atc = e.activityTaskCompletedEventAttributes;
        if (atc) {
          p.activities++;
          if (pageScheduled.has(Number(atc.scheduledEventId))) {
            p.pages++;
            p.pageRunMs += t - (at.get(Number(atc.startedEventId)) ?? t);
          }
        }
      }
    }
    for await (const w of client.workflow.list({
      query: `WorkflowType = 'archive' AND OffloadGroup = '${group}'`,
    })) {
      p.archiveRuns++;
      p.events += w.historyLength;
    }
    p.pageRunMs /= Math.max(1, p.pages);
    p.pageWaitMs /= Math.max(1, p.pages);
    p.events /= N;
    p.activities /= N;
    p.workflowTasks /= N;
    const monthlyEvents = (await client.workflow.getHandle(workflowId).describe()).historyLength;
    await connection.close();
    await native.close();
    return {
      totalMs,
      perDatasetMs: totalMs / N,
      warp10Requests,
      storeCalls,
      profile: p,
      groupRunEvents,
      monthlyEvents,
      cpu,
    };
  }

  const perDs = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, c]) => `${k} ${(c / N).toFixed(2)}`)
      .join(', ');
  const show = (label: string, o: OffloaderRun) => {
    const p = o.profile;
    console.log(
      `  ${label}: ${(o.totalMs / 1000).toFixed(1)} s, ${o.perDatasetMs.toFixed(1)} ms per dataset`,
    );
    console.log(
      `    CPU per dataset: worker ${o.cpu.worker.toFixed(1)} ms, Temporal server ${o.cpu.temporal.toFixed(1)} ms, Warp 10 ${o.cpu.warp10.toFixed(1)} ms`,
    );
    console.log(`    Warp 10 requests per dataset: ${perDs(o.warp10Requests)}`);
    console.log(`    store calls per dataset: ${perDs(o.storeCalls)}`);
    console.log(
      `    Temporal work: ${p.pages} page activities (${(N / Math.max(1, p.pages)).toFixed(1)} datasets each; ` +
        `${p.pageRunMs.toFixed(0)} ms running, ${p.pageWaitMs.toFixed(0)} ms queued on average), ${p.archiveRuns} archive workflows; ` +
        `per dataset ${p.events.toFixed(1)} history events, ${p.activities.toFixed(2)} activities, ${p.workflowTasks.toFixed(2)} workflow tasks`,
    );
    console.log(
      `    history: group runs ${o.groupRunEvents.join(' + ')} events, monthly run ${o.monthlyEvents}`,
    );
  };

  console.log(
    `orchestration overhead: ${N} datasets x ${SERIES} series x ${POINTS} points, group concurrency ${concurrency}`,
  );
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  try {
    const sqlite = await offloader(address, 'offloader', readPid('temporal'));
    show('offloader, stack dev server (SQLite)', sqlite);
    const plainMs = await plain();
    console.log(
      `  plain script, same Warp 10 requests: ${(plainMs / 1000).toFixed(1)} s, ${(plainMs / N).toFixed(1)} ms per dataset ` +
        `(CPU per dataset: script ${plainCpu.script.toFixed(1)} ms, Warp 10 ${plainCpu.warp10.toFixed(1)} ms)`,
    );
    let inMemory: OffloaderRun | undefined;
    if (opts.inMemory !== false) {
      const mem = await startInMemoryTemporal(await freePort());
      try {
        inMemory = await offloader(mem.address, 'offloader (in-memory)', mem.pid);
        show('offloader, in-memory dev server', inMemory);
      } finally {
        await mem.stop();
      }
    }
    const over = (o: OffloaderRun) => ((o.totalMs - plainMs) / N).toFixed(1);
    console.log(
      `  overhead per dataset: ${over(sqlite)} ms (SQLite dev server)${inMemory ? `, ${over(inMemory)} ms (in-memory dev server)` : ''}`,
    );
    return { datasets: N, concurrency, sqlite, plainMs, plainPerDatasetMs: plainMs / N, plainCpu, inMemory };
  } finally {
    await seedRt.close();
    rmSync(storeRoot, { recursive: true, force: true });
  }
}

/** The summary table's rows: overhead per dataset (both dev servers) and the history bound. */
export function overheadRows(f: OverheadFigures): BenchRow[] {
  const perDs = (o: OffloaderRun) =>
    `${o.perDatasetMs.toFixed(1)} ms/dataset (${(o.totalMs / 1000).toFixed(1)} s)`;
  const plain = `${f.plainPerDatasetMs.toFixed(1)} ms/dataset (${(f.plainMs / 1000).toFixed(1)} s)`;
  const over = (o: OffloaderRun) =>
    `+${((o.totalMs - f.plainMs) / f.datasets).toFixed(1)} ms/dataset overhead (goal ≤ 25)`;
  const what = `${f.datasets.toLocaleString('en-US')} tiny datasets, group concurrency ${f.concurrency}`;
  const rows: BenchRow[] = [
    {
      figure: `orchestration, ${what}, stack dev server (SQLite)`,
      offloader: perDs(f.sqlite),
      plain,
      ratio: over(f.sqlite),
    },
  ];
  if (f.inMemory) {
    rows.push({
      figure: `orchestration, ${what}, in-memory dev server`,
      offloader: perDs(f.inMemory),
      plain,
      ratio: over(f.inMemory),
    });
  }
  const runs = f.sqlite.groupRunEvents;
  const all = runs.reduce((n, e) => n + e, 0);
  rows.push({
    figure: `history bound, group of ${f.datasets.toLocaleString('en-US')} datasets`,
    offloader: `longest run ${Math.max(...runs).toLocaleString('en-US')} events (${runs.length} runs; monthly run ${f.sqlite.monthlyEvents}, ${f.sqlite.profile.archiveRuns} archive runs)`,
    plain: `none (a plain script keeps no history); one group run would hold ${all.toLocaleString('en-US')}`,
    ratio: `${((Math.max(...runs) / all) * 100).toFixed(0)} % of one unbounded run`,
  });
  return rows;
}
