// What the ARCHIVE.FETCH tests share: WarpScript run as a client of Warp 10 would (the stack of the reply,
// or Warp 10's own error message), and a real Warp 10 of their own with the extension over a store of
// theirs, with a runtime archiving one dataset into that store.
import { freePort } from '../../src/metrics/server.ts';
import { buildRuntime, type Runtime } from '../../src/worker/runtime.ts';
import { startStandalone, type StandaloneInstance } from '../../scripts/stack/warp10.ts';
import { tempDir, testConfig } from './config.ts';
import { uniqueId } from './stack.ts';

export async function exec(url: string, script: string): Promise<{ stack?: unknown[]; error?: string }> {
  const res = await fetch(`${url}/api/v0/exec`, { method: 'POST', body: script });
  const text = await res.text();
  if (!res.ok) return { error: res.headers.get('x-warp10-error-message') ?? text.slice(0, 500) };
  return { stack: JSON.parse(text) as unknown[] };
}

export interface ColdWarp10 {
  w: StandaloneInstance;
  rt: Runtime;
  /** A fresh class of its own, and its dataset (in group `group`). */
  cls: string;
  dataset: string;
  close(): Promise<void>;
}

/**
 * A second real Warp 10 (a port of its own) whose ARCHIVE.FETCH reads `archiveStore` (its `archive.fetch.*`
 * settings), and a runtime archiving class `cls` (5 series a batch) into `store` with its tokens.
 */
export async function coldWarp10(opts: {
  name: string;
  group: string;
  archiveStore: Record<string, string>;
  store: unknown;
}): Promise<ColdWarp10> {
  const port = await freePort();
  const w = await startStandalone({
    name: `warp10-${opts.name}-${port}`,
    dataDir: tempDir(`${opts.name}-warp10`),
    port,
    archiveStore: opts.archiveStore,
  });
  const env = opts.name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  process.env[`${env}_READ`] = w.readToken;
  process.env[`${env}_WRITE`] = w.writeToken;
  const cls = uniqueId(`test.${opts.name}`).replace(/-/g, '.');
  const dataset = cls.replace(/[^a-z0-9]/g, '');
  const rt = buildRuntime(
    testConfig({
      warp10Url: w.url,
      tokenEnv: { read: `${env}_READ`, write: `${env}_WRITE` },
      groups: [
        { name: opts.group, datasets: [{ name: dataset, selector: { class: cls }, seriesPerBatch: 5 }] },
      ],
      store: opts.store,
    }),
  );
  return {
    w,
    rt,
    cls,
    dataset,
    async close() {
      await rt.close();
      await w.stop();
    },
  };
}
