// npm run reindex as an operator runs it on months committed before month indexes: --dry-run writes
// nothing; a run gives each such month its index (with owners: the stack's Warp 10 has ARCHIVE.OWNERS),
// which verify-archive then checks; a second run changes nothing. A damaged index is named by verify-archive.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readCatalog, readDatasetCatalog } from '../../src/archive/catalog-store.ts';
import { CATALOG_KEY } from '../../src/archive/catalog.ts';
import { monthManifestKey } from '../../src/archive/layout.ts';
import { monthRange } from '../../src/month.ts';
import type { LocalStore } from '../../src/store/local.ts';
import { buildRuntime } from '../../src/worker/runtime.ts';
import { archiveRuns } from '../support/archive-run.ts';
import { writeConfigFile } from '../support/config.ts';
import { NASTY_POINTS, NASTY_SERIES, seedNasty } from '../support/nasty-month.ts';
import { temporalEnv, uniqueId, warp10OrSkip } from '../support/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MONTH = '2026-01';
const { startUs, endUs } = monthRange(MONTH, 'UTC');

function cli(script: string, configFile: string, args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, OFFLOAD_CONFIG: configFile },
  });
}

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

interface Manifest {
  index?: { key: string; series: number; owners?: boolean };
}

describe('npm run reindex', () => {
  test('a month committed without an index: --dry-run writes nothing, a run indexes it with owners, a rerun changes nothing; verify-archive checks the index and names a damaged one', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const cls = uniqueId('test.reindex').replace(/-/g, '.');
    const { file, config } = writeConfigFile({
      warp10Url: w.url,
      taskQueue: uniqueId('reindex'),
      dataset: 'rx',
      cls,
      seriesPerBatch: 5,
    });
    const rt = buildRuntime(config);
    try {
      await seedNasty(rt, w, cls, Number(startUs), Number(endUs));
      const ref = { group: 'infra', dataset: 'rx', month: MONTH };
      const [archived] = await archiveRuns(env, rt, ref);
      assert.equal(archived?.points, NASTY_POINTS);
      const root = (rt.store as LocalStore).root;
      const manifestFile = path.join(root, ...monthManifestKey(ref).split('/'));
      const committed = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest & Record<string, unknown>;
      assert.equal(committed.index?.series, NASTY_SERIES, 'a commit writes the index');
      assert.equal(committed.index?.owners, true, 'with owners: the stack’s Warp 10 has ARCHIVE.OWNERS');

      // As a month committed before indexes (and catalogs): no index named, no index object, no catalog.
      const { index, ...old } = committed;
      rmSync(path.join(root, ...index!.key.split('/')));
      rmSync(path.join(root, CATALOG_KEY));
      writeFileSync(manifestFile, JSON.stringify(old, null, 2));

      const dry = cli('reindex', file, ['--dry-run', '--month', MONTH]);
      assert.equal(dry.status, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`infra/rx/${MONTH}: would index \\(${NASTY_SERIES} series\\)`));
      assert.equal((JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest).index, undefined, 'dry run');
      assert.match(dry.stdout, /catalog: would list 1 month\(s\) of 1 dataset\(s\)/);
      assert.equal(existsSync(path.join(root, CATALOG_KEY)), false, 'dry run: no catalog');

      const run = cli('reindex', file, ['--json']);
      assert.equal(run.status, 0, run.stderr);
      const [first, second] = run.stdout.trim().split('\n');
      const line = JSON.parse(first!) as { status: string; series: number; owners: boolean };
      assert.deepEqual([line.status, line.series, line.owners], ['indexed', NASTY_SERIES, true]);
      assert.deepEqual(JSON.parse(second!), { catalog: CATALOG_KEY, months: 1, datasets: 1 });
      const catalog = await readCatalog(rt.store);
      const months = (await readDatasetCatalog(rt.store, catalog!.datasets[0]!)).months;
      assert.deepEqual(
        months.map((m) => [m.month, m.series, m.index?.series]),
        [[MONTH, NASTY_SERIES, NASTY_SERIES]],
        'the catalog lists the month with its new index',
      );
      const after = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
      assert.equal(after.index?.key, index!.key, 'the same index a commit writes (named by its content)');
      assert.ok(existsSync(path.join(root, ...after.index!.key.split('/'))));

      const again = cli('reindex', file, []);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`infra/rx/${MONTH}: has an index`));

      const good = cli('verify-archive', file, ['--month', MONTH]);
      assert.equal(good.status, 0, good.stdout + good.stderr);

      // A catalog that lost the month: verify-archive says queries do not see it, and how to fix it.
      const catalogFile = path.join(root, CATALOG_KEY);
      const catalogText = readFileSync(catalogFile, 'utf8');
      writeFileSync(catalogFile, JSON.stringify({ ...catalog, datasets: [] }));
      const unlisted = cli('verify-archive', file, ['--month', MONTH]);
      assert.equal(unlisted.status, 1, unlisted.stdout + unlisted.stderr);
      assert.match(
        unlisted.stdout,
        new RegExp(`does not list infra/rx ${MONTH}: ARCHIVE.FETCH does not see it; rerun the month`),
      );
      writeFileSync(catalogFile, catalogText);

      // A damaged index: verify-archive names it.
      const indexFile = path.join(root, ...after.index!.key.split('/'));
      const bytes = readFileSync(indexFile);
      bytes[5] = bytes[5]! ^ 0xff;
      writeFileSync(indexFile, bytes);
      const bad = cli('verify-archive', file, ['--month', MONTH, '--json']);
      assert.equal(bad.status, 1, bad.stdout + bad.stderr);
      const report = JSON.parse(bad.stdout) as {
        audits: { problems: { object: string; problem: string }[] }[];
      };
      assert.ok(
        report.audits[0]!.problems.some(
          (p) => p.object === after.index!.key && /another SHA-256/.test(p.problem),
        ),
        JSON.stringify(report.audits[0]!.problems),
      );

      const none = cli('reindex', file, ['--month', '2026-13']);
      assert.equal(none.status, 2, none.stderr);
      assert.match(none.stderr, /2026-13/);
    } finally {
      await rt.close();
    }
  });
});
