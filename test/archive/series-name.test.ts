// Series names as the archive records them (TOSELECTOR's output in the batch manifests).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSeriesName } from '../../src/archive/series-name.ts';

const series = (s: string) => parseSeriesName(s);

describe('series names', () => {
  test('TOSELECTOR names decode to class and labels', () => {
    assert.deepEqual(series('a.b%20c{.app=x,host=b%2C%20c%7Bd%7D}'), {
      cls: 'a.b c',
      labels: { '.app': 'x', host: 'b, c{d}' },
    });
    assert.deepEqual(series('c{}'), { cls: 'c', labels: {} });
  });
});
