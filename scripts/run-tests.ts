// npm test — brings the local stack up (or reuses a running one), bundles the workflows once, runs every
// test/**/*.test.ts with Node's test runner, and stops the servers it started.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { DATA, ROOT, ensureDir, isAlive, readPid } from './stack/common.ts';
import { down, up } from './stack.ts';
import { readStackEnv } from '../src/stack-env.ts';
import { readRecords, renderDoc } from './reliability/doc.ts';

function findTests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return findTests(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** After a full run: docs/RELIABILITY.md must be what this run's tests say. */
function checkReliabilityDoc(records: string): number {
  const doc = path.join(ROOT, 'docs', 'RELIABILITY.md');
  const want = renderDoc(readRecords(records));
  const have = existsSync(doc) ? readFileSync(doc, 'utf8') : '';
  if (have === want) {
    console.log('docs/RELIABILITY.md matches the suite.');
    return 0;
  }
  console.error(
    'docs/RELIABILITY.md differs from the tests this run executed (a matrix row was added, renamed or removed):\n' +
      'run `npm run reliability-doc` to rewrite it from this run, review the diff, and commit it.',
  );
  return 1;
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const wasRunning = isAlive(readPid('temporal')) || isAlive(readPid('warp10'));
  // Told where Warp 10 is (a distribution or an instance), the suite must run on it: no silent skips.
  const warp10Expected = Boolean(process.env.WARP10_DIST || process.env.WARP10_URL);
  await up({ allowMissingWarp10: !warp10Expected });
  const env = { ...process.env, ...readStackEnv() };
  if (env.WARP10_URL) env.OFFLOADER_REQUIRE_WARP10 = '1';
  try {
    // One bundle for every test process, instead of one webpack run per test file.
    const bundlePath = path.join(ensureDir(path.join(DATA, 'test')), 'workflow-bundle.js');
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(ROOT, 'src', 'workflows', 'index.ts'),
      logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
    });
    writeFileSync(bundlePath, code);
    env.OFFLOADER_WORKFLOW_BUNDLE = bundlePath;

    const files = findTests(path.join(ROOT, 'test'))
      .filter((f) => filters.length === 0 || filters.some((flt) => f.includes(flt)))
      .sort();
    if (files.length === 0) {
      console.error(`no test file matches ${filters.join(' ')}`);
      return 1;
    }
    // Besides the spec output, every test's name and outcome: docs/RELIABILITY.md is made from them.
    const full = filters.length === 0;
    const records = path.join(DATA, 'test', full ? 'results.jsonl' : 'results-partial.jsonl');
    const res = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        `--test-reporter=${path.join(ROOT, 'scripts', 'reliability', 'reporter.mjs')}`,
        `--test-reporter-destination=${records}`,
        '--test-timeout=600000',
        ...files,
      ],
      { stdio: 'inherit', env, cwd: ROOT },
    );
    if (res.status !== 0 || !full) return res.status ?? 1;
    return checkReliabilityDoc(records);
  } finally {
    if (!wasRunning && !process.env.KEEP_STACK) await down();
  }
}

if (!existsSync(path.join(ROOT, 'node_modules'))) {
  console.error('node_modules is missing: run npm ci first.');
  process.exit(1);
}
process.exitCode = await main();
