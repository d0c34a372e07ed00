// Naming and selecting discovered datasets: any label value gives a valid, unique, stable dataset name
// and a selector that matches exactly that value.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DATASET_NAME,
  discoveredDatasetName,
  discoveredSelector,
  exactLabel,
  nameDiscovered,
} from '../../src/offload/discovery.ts';
import { datasetWorkflowId, groupWorkflowId, monthlyWorkflowId } from '../../src/offload/ids.ts';

describe('discovered dataset names', () => {
  test('a value that is already a valid dataset name is kept as is', () => {
    for (const v of ['acme', 'customer-42', 'a.b_c-d', '0day']) assert.equal(discoveredDatasetName(v), v);
  });

  test('any other value: lowercased, other characters as -, plus a hash of the exact value', () => {
    const cases = [
      'ACME',
      'Globex Corp',
      'société',
      '~weird',
      '=abc',
      '.hidden',
      '',
      'a/b',
      'x'.repeat(300),
      '💥',
    ];
    for (const v of cases) {
      const name = discoveredDatasetName(v);
      assert.match(name, DATASET_NAME, JSON.stringify(v));
      assert.match(name, /-[0-9a-f]{8}$/);
      assert.equal(discoveredDatasetName(v), name, 'stable');
    }
    assert.match(discoveredDatasetName('Globex Corp'), /^globex-corp-[0-9a-f]{8}$/);
    assert.match(discoveredDatasetName('.hidden'), /^v\.hidden-/);
    assert.equal(discoveredDatasetName('x'.repeat(300)).length, 127);
  });

  test('names are unique: values that read alike, and values equal to a configured dataset', () => {
    const named = nameDiscovered(['acme', 'ACME', 'Acme', 'os-cpu', 'acme', 'b'], ['os-cpu']);
    assert.deepEqual(
      named.map((n) => n.value),
      ['ACME', 'Acme', 'acme', 'b', 'os-cpu'],
      'sorted, duplicates removed',
    );
    const names = named.map((n) => n.name);
    assert.equal(new Set(names).size, names.length);
    assert.ok(!names.includes('os-cpu'), 'a configured name is never reused');
    assert.match(named.find((n) => n.value === 'os-cpu')?.name ?? '', /^os-cpu-[0-9a-f]{8}$/);
    assert.equal(named.find((n) => n.value === 'acme')?.name, 'acme');
    for (const n of names) assert.match(n, DATASET_NAME);
  });

  test('the selector matches the value exactly, whatever it holds', () => {
    assert.equal(exactLabel('~weird'), '=~weird');
    assert.equal(exactLabel('=abc'), '==abc');
    assert.deepEqual(
      discoveredSelector(
        { selector: { class: '~client\\..*', labels: { dc: 'par1', owner: '~.*' } }, byLabel: 'owner' },
        'acme',
      ),
      { class: '~client\\..*', labels: { dc: 'par1', owner: '=acme' } },
    );
  });

  test('workflow IDs: one per month, group and dataset; dry runs apart', () => {
    assert.equal(monthlyWorkflowId('2026-02'), 'offload/2026-02');
    assert.equal(monthlyWorkflowId('2026-02', true), 'offload/2026-02/dry-run');
    assert.equal(groupWorkflowId('2026-02', 'dry-run'), 'offload-group/2026-02/dry-run');
    assert.notEqual(groupWorkflowId('2026-02', 'dry-run'), monthlyWorkflowId('2026-02', true));
    assert.equal(datasetWorkflowId({ group: 'g', dataset: 'd', month: '2026-02' }), 'archive/g/d/2026-02');
    assert.equal(
      datasetWorkflowId({ group: 'g', dataset: 'd', month: '2026-02' }, true),
      'archive/g/d/2026-02/dry-run',
    );
  });
});
