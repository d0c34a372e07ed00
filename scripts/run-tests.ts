// npm test — brings the local stack up (or reuses a running one), bundles the workflows once, runs every
// test/**/*.test.ts with Node's test runner, and stops the servers it started.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { DATA, ROOT, ensureDir, isAlive, readPid } from './stack/common.ts';
import { down, up } from './stack.ts';
import { readStackEnv } from '../src/stack-env.ts';

function findTests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return findTests(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
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
    const res = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=600000', ...files],
      { stdio: 'inherit', env, cwd: ROOT },
    );
    return res.status ?? 1;
  } finally {
    if (!wasRunning && !process.env.KEEP_STACK) await down();
  }
}

if (!existsSync(path.join(ROOT, 'node_modules'))) {
  console.error('node_modules is missing: run npm ci first.');
  process.exit(1);
}
process.exitCode = await main();
