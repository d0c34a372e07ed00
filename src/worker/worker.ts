// Creates the Temporal worker for the offloader: the workflow bundle plus every activity.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { activityLogContext } from '../logging/logger.ts';
import { activityMetrics } from '../metrics/metrics.ts';
import { createActivities, type Runtime } from './runtime.ts';

const WORKFLOWS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');

export async function createOffloadWorker(opts: {
  connection: NativeConnection;
  runtime: Runtime;
  taskQueue?: string;
  namespace?: string;
  /** A prebuilt bundle (npm test builds one); otherwise the workflows are bundled at start. */
  workflowBundle?: { codePath: string } | { code: string };
}): Promise<Worker> {
  const { config } = opts.runtime;
  const bundlePath = process.env.OFFLOADER_WORKFLOW_BUNDLE;
  const workflowBundle = opts.workflowBundle ?? (bundlePath ? { codePath: bundlePath } : undefined);
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? config.temporal.namespace,
    taskQueue: opts.taskQueue ?? config.temporal.taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS }),
    activities: createActivities(opts.runtime),
    interceptors: {
      // Every activity's log lines carry its dataset-month and batch; metrics when the worker has them.
      activity: [
        activityLogContext,
        ...(opts.runtime.metrics ? [activityMetrics(opts.runtime.metrics)] : []),
      ],
    },
    // Warp 10 protects itself with its own limits; a worker runs a bounded number of heavy requests.
    maxConcurrentActivityTaskExecutions: 8,
    shutdownGraceTime: '30 seconds',
  });
}
