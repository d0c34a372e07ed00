// Warp 10 writes nothing until a script has finished, which can take minutes for a big batch: heartbeat
// on a timer while waiting, so a short heartbeat timeout still tells a slow request from a dead worker.
import { heartbeat } from '@temporalio/activity';

export const HEARTBEAT_INTERVAL_MS = 5_000;

export async function keepAlive<T>(work: () => Promise<T>, details?: () => unknown): Promise<T> {
  const timer = setInterval(() => {
    try {
      heartbeat(details?.());
    } catch {
      // Outside an activity (unit tests): nothing to heartbeat.
    }
  }, HEARTBEAT_INTERVAL_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
