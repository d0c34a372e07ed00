// What a partition batch's requests cost Warp 10 in operations (its `X-Warp10-Ops` reply header),
// measured on the REAL Warp 10: a request must stay under `warpscript.maxops` at the largest partition
// batch the plan makes (PARTITION_MAX_SERIES), or it fails at scale only (a 100,000-series batch once
// took 10,000,009 operations of 10,000,000). The requests of a partition batch (export read, guard,
// late-point encoding) use list functions only: their operations must not grow with its series. The
// WarpScript late-data comparison (batches of a few series, and partition batches exported before wrap
// digests, at most 20,000 series) must cost per series, not per point.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Warp10Client } from '../../src/warp10/client.ts';
import { bind, loadScript, stringLiteral } from '../../src/warp10/warpscript.ts';
import { uniqueId, warp10OrSkip } from '../support/stack.ts';

/** The limit the README asks of a cluster (and the local stack's `warpscript.maxops`). */
const MAXOPS = 10_000_000;
/** A request at the largest partition batch may use this share of it. */
const SHARE = 0.9;
const SERIES = 1_000;
/** The largest partition batch archive-late.mc2 still compares (exported before wrap digests). */
const LATE_MAX_SERIES = 20_000;
const T0 = 1_000_000;
const range = { start: 0, end: 10_000_000_000 };

type Stack = NonNullable<ReturnType<typeof warp10OrSkip>>;

describe('operations a request costs Warp 10, per series (real Warp 10)', () => {
  let w: Stack | undefined;
  let client: Warp10Client;
  const stack = (t: TestContext) => {
    w = warp10OrSkip(t);
    if (w) client = new Warp10Client({ url: w.url });
    return w;
  };

  /** A class of SERIES series of `points` points each (labels like the big classes': hex ids, zones). */
  async function seed(points: number) {
    const cls = uniqueId('ops').replace(/-/g, '.');
    const lines: string[] = [];
    for (let k = 0; k < SERIES; k++) {
      for (let j = 0; j < points; j++)
        lines.push(`${T0 + j * 1000}// ${cls}{inst=${k.toString(16)},zone=z${k % 3}} ${k + j}`);
    }
    await client.update(w!.writeToken, lines.join('\n'));
    return { cls, selector: `${cls}{}` };
  }

  async function read(selector: string) {
    const r = await client.exec<[unknown[][]]>(
      bind(loadScript('archive-read'), {
        token: w!.readToken,
        selectors: [],
        fetch: [selector],
        ...range,
        wrap: true,
        all: true,
      }),
      { name: 'archive-read' },
    );
    return { ops: r.ops!, wrapped: r.stack[0].map((row) => row[4] as string) };
  }

  async function late(selector: string, archived: string[]) {
    const head = bind(loadScript('archive-late'), {
      readToken: w!.readToken,
      wanted: {},
      fetch: [selector],
      ...range,
      all: true,
    });
    const feed = archived.map((x) => `${stringLiteral(x)} @series`).join('\n');
    const r = await client.exec<[{ rows: unknown[] }]>(`${head}\n${feed}\n@finish\n`, {
      name: 'archive-late',
    });
    return { ops: r.ops!, rows: r.stack[0].rows.length };
  }

  const budget = (opsPerSeries: number) => opsPerSeries * LATE_MAX_SERIES;

  /** Operations of a partition batch's three requests on a class of `series` series. */
  async function partitionOps(series: number) {
    const cls = uniqueId('opsp').replace(/-/g, '.');
    const lines: string[] = [];
    for (let k = 0; k < series; k++) lines.push(`${T0}// ${cls}{inst=${k.toString(16)}} ${k}`);
    await client.update(w!.writeToken, lines.join('\n'));
    const selector = `${cls}{}`;
    const read = await client.exec<[unknown[]]>(
      bind(loadScript('archive-read-partition'), { token: w!.readToken, selector, ...range }),
      { name: 'archive-read-partition' },
    );
    assert.equal(read.stack[0].length, series);
    const guard = await client.exec(
      bind(loadScript('archive-delete-partition'), {
        readToken: w!.readToken,
        writeToken: w!.writeToken,
        selector,
        ...range,
        // A digest that cannot match: the whole content is digested, nothing is deleted.
        wrap: '0'.repeat(64),
        live: series,
      }),
      { name: 'archive-delete-partition' },
    );
    const encode = await client.exec<[unknown[]]>(
      bind(loadScript('archive-encode'), { text: `${lines.join('\n')}\n` }),
      { name: 'archive-encode' },
    );
    assert.equal(encode.stack[0].length, series);
    return { read: read.ops!, guard: guard.ops!, encode: encode.ops! };
  }

  test("a partition batch's requests cost the same operations at 100 and 5,000 series", async (t) => {
    if (!stack(t)) return;
    const few = await partitionOps(100);
    const many = await partitionOps(5_000);
    t.diagnostic(`100 series: ${JSON.stringify(few)}; 5,000 series: ${JSON.stringify(many)}`);
    for (const k of ['read', 'guard', 'encode'] as const) {
      assert.equal(many[k], few[k], `${k}: ${many[k]} operations at 5,000 series, ${few[k]} at 100`);
      assert.ok(few[k] < 1_000, `${k}: ${few[k]} operations`);
    }
  });

  test('export read and guarded delete of a batch exported before wrap digests stay under maxops', async (t) => {
    if (!stack(t)) return;
    const { selector } = await seed(3);
    const r = await read(selector);
    const del = await client.exec(
      bind(loadScript('archive-delete-partition'), {
        readToken: w!.readToken,
        writeToken: w!.writeToken,
        selector,
        ...range,
        // A digest that cannot match: the whole comparison runs, nothing is deleted.
        digest: '0'.repeat(64),
        live: SERIES,
        content: true,
      }),
      { name: 'archive-delete-partition' },
    );
    const perRead = r.ops / SERIES;
    const perDelete = del.ops! / SERIES;
    t.diagnostic(
      `archive-read ${perRead.toFixed(1)} ops a series, archive-delete-partition ${perDelete.toFixed(1)}`,
    );
    assert.ok(
      budget(perRead) <= SHARE * MAXOPS,
      `archive-read: ${budget(perRead)} operations at ${LATE_MAX_SERIES} series`,
    );
    assert.ok(
      budget(perDelete) <= SHARE * MAXOPS,
      `archive-delete-partition: ${budget(perDelete)} operations`,
    );
  });

  test('the late-data comparison costs per series, not per point, for unchanged and appended series', async (t) => {
    if (!stack(t)) return;
    const perSeries: Record<string, number> = {};
    for (const points of [1, 40]) {
      const { cls, selector } = await seed(points);
      const { wrapped } = await read(selector);
      const same = await late(selector, wrapped);
      assert.equal(same.rows, 0, 'nothing to report when nothing changed');
      // One point at a new timestamp in every series: the worst case of appended late data.
      const lines = [];
      for (let k = 0; k < SERIES; k++)
        lines.push(`${T0 + 999_000}// ${cls}{inst=${k.toString(16)},zone=z${k % 3}} 7`);
      await client.update(w!.writeToken, lines.join('\n'));
      const appended = await late(selector, wrapped);
      assert.equal(appended.rows, SERIES, 'every series has a new point');
      perSeries[`unchanged ${points}`] = same.ops / SERIES;
      perSeries[`appended ${points}`] = appended.ops / SERIES;
    }
    t.diagnostic(JSON.stringify(perSeries));
    for (const kind of ['unchanged', 'appended']) {
      const few = perSeries[`${kind} 1`]!;
      const many = perSeries[`${kind} 40`]!;
      assert.ok(many <= few * 1.1, `${kind}: ${many} ops a series at 40 points against ${few} at 1`);
      assert.ok(
        budget(many) <= SHARE * MAXOPS,
        `${kind}: ${budget(many)} operations at ${LATE_MAX_SERIES} series`,
      );
    }
  });
});
