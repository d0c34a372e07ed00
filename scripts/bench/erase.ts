// `npm run bench -- erase`: one customer's series erased from a year of archive (issue 36), side by side in
// one run with a plain rewrite of the same objects whole. One class of BENCH_ERASE_SERIES (200,000)
// UUID-labelled series x 10 points in each of BENCH_ERASE_MONTHS (12) months, of which BENCH_ERASE_CUSTOMER
// (100) belong to the customer (`tenant=acme`), spread over the class (every N-th series: the members holding
// them are as many as they can be), archived month by month into a throwaway local store. Then:
//   - the erasure (`erase` workflow): time; bytes of the gzip members that hold the customer's series (read
//     and rewritten), bytes of members copied byte for byte, bytes written;
//   - a plain script on a copy of the store taken before: each object holding a series of the customer read
//     whole, its lines of the customer dropped, written whole again (no manifest, index or catalog kept).
import { cpSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  archiveWorkflowId,
  batchManifestKey,
  monthManifestKey,
  type MonthRef,
} from '../../src/archive/layout.ts';
import { BatchManifestSchema, MonthManifestSchema } from '../../src/archive/manifest.ts';
import { parseWrapper } from '../../src/archive/wrap-decode.ts';
import { readJson } from '../../src/activities/store-json.ts';
import { createStore } from '../../src/store/index.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import type { EraseResult } from '../../src/workflows/erase.ts';
import { benchConfig, benchWorker, connectTemporal, monthBounds, requireWarp10, secs } from './setup.ts';

const DATA = path.resolve(import.meta.dirname, '..', '..', '.data', 'bench-erase');
const hex = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;

export async function benchErase(): Promise<void> {
  requireWarp10();
  const series = Number(process.env.BENCH_ERASE_SERIES ?? 200_000);
  const monthsN = Number(process.env.BENCH_ERASE_MONTHS ?? 12);
  const customer = Number(process.env.BENCH_ERASE_CUSTOMER ?? 100);
  const every = Math.floor(series / customer);
  const tag = Date.now().toString(36);
  const cls = `er${tag}`;
  const months = Array.from({ length: monthsN }, (_, i) => `2001-${String(i + 1).padStart(2, '0')}`);
  const storeDir = path.join(DATA, tag);
  const copyDir = path.join(DATA, `${tag}-whole`);
  const config = benchConfig(cls, storeDir, [{ name: cls, selector: { class: cls } }], {
    lateData: { lateness: '0 minutes' },
  });
  const rt = buildRuntime(config, { log: () => {} });
  const temporal = await connectTemporal();
  const name = (i: number) => {
    const h = hex(`${tag}-${i}`, 32);
    const app = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
    return `${cls}{app=${app},inst=${hex(`i${i}`, 8)},tenant=${i % every === 0 && i / every < customer ? 'acme' : `t${i % 997}`}}`;
  };
  try {
    console.log(
      `erasure: ${customer} series of one customer out of ${series.toLocaleString('en-US')} x 10 points x ${monthsN} months`,
    );
    const t0 = performance.now();
    for (const month of months) {
      const [S, E] = monthBounds(month);
      const step = Math.floor((E - S) / 10);
      let out: string[] = [];
      for (let i = 0; i < series; i++) {
        for (let p = 0; p < 10; p++)
          out.push(
            p === 0 ? `${S + (i % 1000)}// ${name(i)} ${i % 100}` : `=${S + p * step + (i % 1000)}// ${p}`,
          );
        if (out.length >= 200_000) {
          await rt.client.update(rt.tokens.write, out.join('\n'));
          out = [];
        }
      }
      if (out.length > 0) await rt.client.update(rt.tokens.write, out.join('\n'));
    }
    console.log(`  seeded in ${secs(performance.now() - t0)}`);
    const worker = await benchWorker(temporal, rt, cls);
    const t1 = performance.now();
    await worker.runUntil(async () => {
      for (const month of months) {
        const ref: MonthRef = { group: 'bench', dataset: cls, month };
        await temporal.client.workflow.execute('archive', {
          taskQueue: cls,
          workflowId: `${archiveWorkflowId(ref)}-${cls}`,
          args: [ref],
        });
      }
    });
    console.log(`  archived ${monthsN} months in ${secs(performance.now() - t1)}`);
    cpSync(storeDir, copyDir, { recursive: true });

    // The erasure, as an operator runs it.
    const selector = `${cls}{tenant=acme}`;
    const worker2 = await benchWorker(temporal, rt, cls);
    const t2 = performance.now();
    const r = (await worker2.runUntil(
      temporal.client.workflow.execute('erase', {
        taskQueue: cls,
        workflowId: `erase-bench-${cls}`,
        args: [{ selector }],
      }),
    )) as EraseResult;
    const eraseMs = performance.now() - t2;
    const sum = (k: 'bytesRead' | 'bytesWritten' | 'bytesCopied' | 'metadataRead' | 'objects') =>
      r.months.reduce((n, m) => n + m[k], 0);
    const members = sum('bytesRead');
    const copied = sum('bytesCopied');
    const written = sum('bytesWritten');

    // The plain script: every object holding a series of the customer, read and written whole.
    const whole = createStore({ type: 'local', path: copyDir });
    let wholeRead = 0;
    let wholeWritten = 0;
    let wholeObjects = 0;
    const t3 = performance.now();
    for (const month of months) {
      const ref: MonthRef = { group: 'bench', dataset: cls, month };
      const m = await readJson(whole, monthManifestKey(ref), MonthManifestSchema);
      for (const b of m?.batches ?? []) {
        const bm = await readJson(whole, batchManifestKey(ref, b.batch), BatchManifestSchema);
        if (!bm?.series.some((s) => s.selector.includes('tenant=acme'))) continue;
        const raw = await whole.getRange(bm.object.key, 0, bm.object.bytes);
        wholeRead += raw.length;
        const kept = gunzipSync(raw)
          .toString('latin1')
          .split('\n')
          .filter((l) => l !== '' && parseWrapper(l).labels.tenant !== 'acme');
        const body = gzipSync(Buffer.from(`${kept.join('\n')}\n`, 'latin1'));
        await whole.put(`${bm.object.key}.whole`, body);
        wholeWritten += body.length;
        wholeObjects++;
      }
    }
    const wholeMs = performance.now() - t3;
    await whole.close();

    console.log(
      `  erased ${r.series} series, ${r.points.toLocaleString('en-US')} points, ${sum('objects')} object(s) in ${r.months.length} months`,
    );
    const rows = [
      ['', 'erasure (npm run erase)', 'plain: objects rewritten whole'],
      ['time', secs(eraseMs), secs(wholeMs)],
      ['objects rewritten', String(sum('objects')), String(wholeObjects)],
      ['gzip members holding the series (read, rewritten)', mib(members), '—'],
      ['members copied byte for byte (read and written again)', mib(copied), '—'],
      ['bytes read (members + copies)', mib(members + copied), mib(wholeRead)],
      ['bytes written', mib(written), mib(wholeWritten)],
      ['manifests, plan, purge record read', mib(sum('metadataRead')), '—'],
    ];
    for (const row of rows) console.log(`  | ${row.join(' | ')} |`);
    console.log(
      `  ratios against the members holding the series: read ${((members + copied) / members).toFixed(2)}x ` +
        `(${(members / members).toFixed(2)}x without copies), written ${(written / members).toFixed(2)}x ` +
        `(${((written - copied) / members).toFixed(2)}x without copies); time ${(eraseMs / wholeMs).toFixed(2)}x the whole rewrite`,
    );
  } finally {
    await rt.close();
    await temporal.close();
    if (!process.env.BENCH_ERASE_KEEP) {
      rmSync(storeDir, { recursive: true, force: true });
      rmSync(copyDir, { recursive: true, force: true });
    }
  }
}
