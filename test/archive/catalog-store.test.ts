// The catalog as commits publish it (src/archive/catalog-store.ts), on a real local store: months set from
// their manifest.json, a reopened month's index replacing the old one, a month gone leaving it, class ranges
// for the extension to skip datasets, and a damaged dataset catalog refused.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readCatalog, readDatasetCatalog, publishMonths } from '../../src/archive/catalog-store.ts';
import { CATALOG_KEY } from '../../src/archive/catalog.ts';
import { monthManifestKey, monthPrefix, type MonthRef } from '../../src/archive/layout.ts';
import type { BatchManifest, MonthManifest, MonthRange } from '../../src/archive/manifest.ts';
import { buildMonthIndex, monthIndexKey } from '../../src/archive/month-index.ts';
import { LocalStore } from '../../src/store/index.ts';

const range = (month: string): MonthRange => {
  const start = Date.parse(`${month}-01T00:00:00Z`);
  const end = new Date(start);
  end.setUTCMonth(end.getUTCMonth() + 1);
  return {
    timezone: 'UTC',
    startIso: new Date(start).toISOString(),
    endIso: end.toISOString(),
    startUs: start * 1000,
    endUs: end.getTime() * 1000,
  };
};

let dir: string;
let store: LocalStore;

/** Commits a month as commitMonth does: its index object, then manifest.json naming it. */
async function commit(ref: MonthRef, selectors: string[], revision = 1): Promise<MonthManifest> {
  const r = range(ref.month);
  const batch: BatchManifest = {
    format: 'warp10-offloader/batch@1',
    ...ref,
    batch: 1,
    range: r,
    object: {
      key: `${monthPrefix(ref)}batch-00001.wrap.gz`,
      bytes: 100 * selectors.length,
      sha256: 'a'.repeat(64),
      members: selectors.map((_, i) => ({ offset: i * 100, bytes: 100, sha256: 'b'.repeat(64) })),
    },
    series: selectors.map((selector, member) => ({
      selector,
      points: 1,
      first: r.startUs,
      last: r.startUs,
      member,
    })),
    points: selectors.length,
    status: 'deleted',
    exportedAt: '',
    exportMs: 0,
  } as BatchManifest;
  const built = buildMonthIndex([batch], r);
  const index = { key: monthIndexKey(monthPrefix(ref), built.ref.sha256), ...built.ref, owners: true };
  await store.put(index.key, built.body);
  const manifest: MonthManifest = {
    format: 'warp10-offloader/month@1',
    ...ref,
    range: r,
    batches: [],
    series: selectors.length,
    points: selectors.length,
    bytes: 100,
    plannedAt: '',
    committedAt: new Date().toISOString(),
    workflowId: 'w',
    runId: 'r',
    revision,
    index,
  };
  await store.put(monthManifestKey(ref), JSON.stringify(manifest));
  return manifest;
}

describe('archive catalog', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'catalog-'));
    store = new LocalStore(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('commits of several datasets: each listed with its months, its catalog named by its content, its class range', async () => {
    const refs: MonthRef[] = [];
    for (const month of ['2026-01', '2026-02', '2026-03']) {
      refs.push({ group: 'infra', dataset: 'cpu', month });
      await commit(refs.at(-1)!, ['os.cpu{host=a}', 'os.cpu{host=b}']);
    }
    refs.push({ group: 'infra', dataset: 'mem', month: '2026-02' });
    await commit(refs.at(-1)!, ['os.mem{host=a}']);
    const result = await publishMonths(store, refs);
    assert.deepEqual(result, { listed: 4, removed: 0, datasets: 2, supersededIndexes: 0 });
    const root = await readCatalog(store);
    assert.ok(root);
    assert.deepEqual(
      root.datasets.map((d) => [d.group, d.dataset, d.months, d.firstMonth, d.lastMonth, d.classes]),
      [
        ['infra', 'cpu', 3, '2026-01', '2026-03', { first: 'os.cpu{host=a}', last: 'os.cpu{host=b}' }],
        ['infra', 'mem', 1, '2026-02', '2026-02', { first: 'os.mem{host=a}', last: 'os.mem{host=a}' }],
      ],
    );
    const cpu = await readDatasetCatalog(store, root.datasets[0]!);
    assert.match(root.datasets[0]!.key, /^infra\/cpu\/catalog-[0-9a-f]{16}\.json$/);
    assert.deepEqual(
      cpu.months.map((m) => [m.month, m.series, m.index?.first, m.index?.last]),
      [
        ['2026-01', 2, 'os.cpu{host=a}', 'os.cpu{host=b}'],
        ['2026-02', 2, 'os.cpu{host=a}', 'os.cpu{host=b}'],
        ['2026-03', 2, 'os.cpu{host=a}', 'os.cpu{host=b}'],
      ],
    );
    // Publishing the same months again changes nothing, not even the root.
    const again = await publishMonths(store, refs);
    assert.equal(again.datasets, 0);
  });

  test('a reopened month: its new index replaces the old one, which is deleted once the catalog no longer names it', async () => {
    const ref = { group: 'infra', dataset: 'cpu', month: '2026-02' };
    const root = (await readCatalog(store))!;
    const before = await readDatasetCatalog(store, root.datasets[0]!);
    const oldIndex = before.months.find((m) => m.month === '2026-02')!.index!.key;
    const m = await commit(ref, ['os.cpu{host=a}', 'os.cpu{host=b}', 'os.cpu{host=c}'], 2);
    assert.notEqual(m.index!.key, oldIndex);
    assert.ok(await store.head(oldIndex), 'the commit leaves the old index for the catalog to drop');
    const result = await publishMonths(store, [ref]);
    assert.deepEqual(result, { listed: 1, removed: 0, datasets: 1, supersededIndexes: 1 });
    assert.equal(await store.head(oldIndex), undefined);
    const now = (await readCatalog(store))!;
    const entry = now.datasets.find((d) => d.dataset === 'cpu')!;
    assert.equal(entry.previous, root.datasets[0]!.key, 'the catalog before is kept one generation');
    assert.ok(await store.head(entry.previous!));
    const cat = await readDatasetCatalog(store, entry);
    const feb = cat.months.find((x) => x.month === '2026-02')!;
    assert.deepEqual(
      [feb.revision, feb.series, feb.index?.key, feb.index?.last],
      [2, 3, m.index!.key, 'os.cpu{host=c}'],
    );
    // One more change: the catalog two generations back goes.
    await commit({ group: 'infra', dataset: 'cpu', month: '2026-04' }, ['os.cpu{host=a}']);
    await publishMonths(store, [{ group: 'infra', dataset: 'cpu', month: '2026-04' }]);
    assert.equal(await store.head(entry.previous!), undefined);
  });

  test('a month without manifest.json leaves the catalog, and a dataset with no month left leaves it too', async () => {
    const ref = { group: 'infra', dataset: 'mem', month: '2026-02' };
    await store.delete(monthManifestKey(ref));
    const result = await publishMonths(store, [ref]);
    assert.deepEqual([result.listed, result.removed, result.datasets], [0, 1, 1]);
    const root = (await readCatalog(store))!;
    assert.deepEqual(
      root.datasets.map((d) => d.dataset),
      ['cpu'],
    );
    assert.deepEqual(
      (await store.list('infra/mem/')).filter((o) => o.key.includes('catalog-')),
      [],
      'its catalogs are deleted',
    );
  });

  test('a dataset catalog that is not the one catalog.json names is refused, saying how to rebuild it', async () => {
    const root = (await readCatalog(store))!;
    const entry = root.datasets[0]!;
    await store.put(
      entry.key,
      '{"format":"warp10-offloader/dataset-catalog@1","group":"infra","dataset":"cpu","months":[]}',
    );
    await assert.rejects(
      () => publishMonths(store, [{ group: 'infra', dataset: 'cpu', month: '2026-01' }]),
      /is not the catalog catalog\.json says for infra\/cpu: run npm run reindex/,
    );
    // A rebuild starts the dataset from its months alone.
    const months = ['2026-01', '2026-02', '2026-03', '2026-04'].map((month) => ({
      group: 'infra',
      dataset: 'cpu',
      month,
    }));
    const rebuilt = await publishMonths(store, months, { rebuild: true });
    assert.equal(rebuilt.listed, 4);
    const cat = await readDatasetCatalog(store, (await readCatalog(store))!.datasets[0]!);
    assert.equal(cat.months.length, 4);
    assert.ok(await store.head(CATALOG_KEY));
  });
});
