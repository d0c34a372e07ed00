// A node:test reporter that records every test's name, file and outcome as JSON lines, so that
// docs/RELIABILITY.md can be generated from (and checked against) what the suite actually ran.
// Plain JavaScript: Node loads reporters before the tsx hook.
import path from 'node:path';

export default async function* reporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    // Suites are reported like tests; only the tests themselves are rows.
    if (d.details?.type === 'suite') continue;
    const outcome =
      event.type === 'test:fail' ? 'fail' : d.skip !== undefined || d.todo !== undefined ? 'skip' : 'pass';
    const file = d.file ? path.relative(process.cwd(), d.file) : '';
    yield `${JSON.stringify({ name: d.name, file, outcome })}\n`;
  }
}
