// What the Web UI shows about runs and activities: short, exact, and the same on replay.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  archiveCurrentDetails,
  archiveSummary,
  batchSummary,
  failureSummary,
  formatBytes,
  formatCount,
  seriesInBatch,
} from '../../src/workflows/summaries.ts';

const ref = { group: 'infra', dataset: 'os-cpu', month: '2026-10' };

describe('Web UI summaries', () => {
  test('counts and sizes read at a glance', () => {
    assert.equal(formatCount(999), '999');
    assert.equal(formatCount(9_999), '9,999');
    assert.equal(formatCount(12_345), '12.3 k');
    assert.equal(formatCount(1_234_567), '1.2 M');
    assert.equal(formatCount(2_500_000_000), '2.5 G');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GiB');
  });

  test('an archive says which dataset-month it is about and how far it is', () => {
    assert.equal(archiveSummary(ref), 'infra/os-cpu 2026-10 — archive');
    assert.equal(archiveSummary({ ...ref, dryRun: true }), 'infra/os-cpu 2026-10 — archive (dry run)');
    const p = {
      phase: 'export',
      batches: 8,
      exported: 3,
      verified: 0,
      deleted: 0,
      series: 3_501,
      points: 1_234_567,
      bytes: 4_900_000,
    };
    assert.equal(
      archiveCurrentDetails(ref, p),
      'infra/os-cpu 2026-10 — export 3/8 batches, 3,501 series, 1.2 M points, 4.7 MiB',
    );
    assert.equal(archiveCurrentDetails(ref, { ...p, phase: 'plan' }), 'infra/os-cpu 2026-10 — planning');
  });

  test('activities are named by phase and batch, with the series when known', () => {
    assert.equal(batchSummary('export', 3, 8, 500), 'export batch 3/8 (500 series)');
    assert.equal(batchSummary('export', 1, 8), 'export batch 1/8');
    assert.equal(batchSummary('verify', 1, 1, 1), 'verify batch 1/1 (1 series)');
    // 3,501 series in batches of 500: seven full ones and a last one of 1.
    assert.equal(seriesInBatch(1, 8, 3_501), undefined, 'unknown before the first batch is exported');
    assert.equal(seriesInBatch(3, 8, 3_501, 500), 500);
    assert.equal(seriesInBatch(8, 8, 3_501, 500), 1);
    assert.equal(seriesInBatch(1, 1, 42), 42);
  });

  test('the failure workflow names the failed phase and batch', () => {
    const f = { ...ref, phase: 'verify', batch: 3, batchCount: 8, error: { type: 'LiveDataChanged' } };
    assert.equal(failureSummary(f), 'infra/os-cpu 2026-10 — FAILED in verify, batch 3/8: LiveDataChanged');
    assert.equal(
      failureSummary({ ...ref, phase: 'plan', error: { type: 'WarpScriptError' } }),
      'infra/os-cpu 2026-10 — FAILED in plan: WarpScriptError',
    );
  });
});
