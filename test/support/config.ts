// Builds validated configurations for tests: the same zod schema the product uses.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import type { OffloadConfig } from '../../src/config/schema.ts';

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export function testConfig(opts: {
  warp10Url?: string;
  groups: unknown[];
  store?: unknown;
  slack?: unknown;
  timezone?: string;
  /** Environment variables holding the Warp 10 tokens; default WARP10_READ_TOKEN / WARP10_WRITE_TOKEN. */
  tokenEnv?: { read: string; write: string };
  restoreTargets?: unknown[];
  lateData?: unknown;
}): OffloadConfig {
  return parseConfig(
    {
      timezone: opts.timezone ?? 'UTC',
      warp10: {
        url: opts.warp10Url ?? (process.env.WARP10_URL || 'http://127.0.0.1:1'),
        readToken: { env: opts.tokenEnv?.read ?? 'WARP10_READ_TOKEN' },
        writeToken: { env: opts.tokenEnv?.write ?? 'WARP10_WRITE_TOKEN' },
        requestTimeoutMs: 60_000,
      },
      temporal: {
        address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
        uiUrl: process.env.TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233',
      },
      store: opts.store ?? { type: 'local', path: tempDir('offload-archive') },
      ...(opts.slack ? { slack: opts.slack } : {}),
      ...(opts.restoreTargets ? { restoreTargets: opts.restoreTargets } : {}),
      // Tests archive months of their own choosing at any hour, also right after a month ends: no
      // settle delay unless a test is about it.
      lateData: opts.lateData ?? { lateness: '0 minutes' },
      groups: opts.groups,
    },
    'test',
  );
}

/**
 * Writes a config file for a child process (the worker, the CLI) archiving one dataset of class `cls`
 * from the real Warp 10 into a fresh local store; returns its path and the parsed config.
 */
export function writeConfigFile(opts: {
  warp10Url: string;
  taskQueue: string;
  dataset: string;
  cls: string;
  seriesPerBatch: number;
  /** The main dataset's `pointsPerBatch` (a dataset of 10,000 series or more is partitioned by it). */
  pointsPerBatch?: number;
  /** More top-level sections (metrics, logging). */
  extra?: Record<string, unknown>;
  /** More datasets in the same group, same class prefix rules. */
  datasets?: { name: string; cls: string }[];
}): { file: string; config: OffloadConfig } {
  const raw = {
    timezone: 'UTC',
    warp10: {
      url: opts.warp10Url,
      readToken: { env: 'WARP10_READ_TOKEN' },
      writeToken: { env: 'WARP10_WRITE_TOKEN' },
    },
    temporal: {
      address: process.env.TEMPORAL_ADDRESS,
      taskQueue: opts.taskQueue,
      uiUrl: process.env.TEMPORAL_UI_URL,
    },
    store: { type: 'local', path: tempDir(`${opts.dataset}-archive`) },
    groups: [
      {
        name: 'infra',
        datasets: [
          {
            name: opts.dataset,
            selector: { class: opts.cls },
            seriesPerBatch: opts.seriesPerBatch,
            ...(opts.pointsPerBatch ? { pointsPerBatch: opts.pointsPerBatch } : {}),
          },
          ...(opts.datasets ?? []).map((d) => ({
            name: d.name,
            selector: { class: d.cls },
            seriesPerBatch: opts.seriesPerBatch,
          })),
        ],
      },
    ],
    ...opts.extra,
  };
  const file = path.join(tempDir(`${opts.dataset}-config`), 'offload.json');
  writeFileSync(file, JSON.stringify(raw));
  return { file, config: parseConfig(raw, file) };
}
