// npm run bundle-workflows [-- OUT] — builds the workflow bundle once (default dist/workflow-bundle.js), so
// a worker started with OFFLOADER_WORKFLOW_BUNDLE=OUT skips webpack at start (the container image does).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

const ROOT = path.resolve(import.meta.dirname, '..');
const out = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist', 'workflow-bundle.js'));
const { code } = await bundleWorkflowCode({
  workflowsPath: path.join(ROOT, 'src', 'workflows', 'index.ts'),
  logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} },
});
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, code);
console.log(`workflow bundle: ${out} (${(code.length / 1024).toFixed(0)} KiB)`);
