// npm run reliability-doc — rewrites docs/RELIABILITY.md from the last full `npm test` run's records.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DATA, ROOT } from './stack/common.ts';
import { readRecords, renderDoc } from './reliability/doc.ts';

const records = path.join(DATA, 'test', 'results.jsonl');
if (!existsSync(records)) {
  console.error(`${records} is missing: run the whole suite first (npm test), then this again.`);
  process.exit(2);
}
mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
writeFileSync(path.join(ROOT, 'docs', 'RELIABILITY.md'), renderDoc(readRecords(records)));
console.log('docs/RELIABILITY.md written');
