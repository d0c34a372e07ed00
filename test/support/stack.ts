// Test access to the local stack that `npm test` starts (see scripts/run-tests.ts).
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, bundleWorkflowCode } from '@temporalio/worker';
import { applyStackEnv } from '../../src/stack-env.ts';

applyStackEnv();
// Tests print their own failures; the SDK's INFO lines (worker state changes) would bury them.
Runtime.install({ logger: new DefaultLogger('WARN') });

export interface Warp10Stack {
  url: string;
  readToken: string;
  writeToken: string;
}

/**
 * The real Warp 10, or undefined after marking the test skipped with the reason it is missing. When the
 * stack has one (OFFLOADER_REQUIRE_WARP10), a missing endpoint fails the test instead of skipping it.
 */
export function warp10OrSkip(t: TestContext): Warp10Stack | undefined {
  const { WARP10_URL, WARP10_READ_TOKEN, WARP10_WRITE_TOKEN, WARP10_UNAVAILABLE } = process.env;
  if (!WARP10_URL || !WARP10_READ_TOKEN || !WARP10_WRITE_TOKEN) {
    if (process.env.OFFLOADER_REQUIRE_WARP10 === '1') {
      throw new Error('the stack provides a Warp 10, but this test process did not receive its endpoint');
    }
    t.skip(
      `needs the real Warp 10, which the stack could not provide: ${WARP10_UNAVAILABLE ?? 'WARP10_URL not set'}`,
    );
    return undefined;
  }
  return { url: WARP10_URL, readToken: WARP10_READ_TOKEN, writeToken: WARP10_WRITE_TOKEN };
}

export function temporalAddress(): string {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address)
    throw new Error('TEMPORAL_ADDRESS is not set: run the tests with npm test (it starts the stack).');
  return address;
}

/** Connects to the running dev server (no SDK-managed server start-up). */
export async function temporalEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createFromExistingServer({
    address: temporalAddress(),
    namespace: 'default',
  });
}

/** A task queue (and ID prefix) no other test uses. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

let bundle: Promise<{ code: string }> | undefined;

/** The workflow bundle built once by npm test, or built here when a file runs alone. */
export function workflowBundle(): Promise<{ codePath: string } | { code: string }> {
  const codePath = process.env.OFFLOADER_WORKFLOW_BUNDLE;
  if (codePath) return Promise.resolve({ codePath });
  bundle ??= bundleWorkflowCode({
    workflowsPath: path.resolve(import.meta.dirname, '..', '..', 'src', 'workflows', 'index.ts'),
  });
  return bundle;
}
