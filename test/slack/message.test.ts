import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED } from '../../src/config/redact.ts';
import {
  SLACK_LIMITS,
  failureMessage,
  formatDuration,
  humanBytes,
  successMessage,
  truncate,
} from '../../src/slack/message.ts';
import type { Block, FailureReport, RunSummary, SlackMessage } from '../../src/slack/message.ts';

const report = (over: Partial<FailureReport> = {}): FailureReport => ({
  month: '2026-10',
  group: 'infra',
  dataset: 'os-cpu',
  phase: 'export',
  batch: 3,
  batchCount: 12,
  error: {
    type: 'Warp10ScriptError',
    message: 'Exception at FETCH: quota exceeded',
    warp10: { line: 42, message: 'Maximum number of datapoints exceeded (1000000)' },
  },
  attempts: 5,
  workflowId: 'offload-2026-10-infra-os-cpu',
  runId: 'run-0d5c-4e1f',
  uiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/offload-2026-10-infra-os-cpu/run-0d5c-4e1f',
  resumeCommand: 'npm run start-archive -- --month 2026-10 --group infra --dataset os-cpu',
  compensation: 'removed 2 unverified objects; hot data untouched',
  ...over,
});

/** Every piece of text Slack would render or use: section texts, fields, header, context, fallback. */
function texts(m: SlackMessage): string[] {
  const out = [m.text];
  for (const b of m.blocks) {
    if (b.type === 'header') out.push(b.text.text);
    if (b.type === 'section') {
      if (b.text) out.push(b.text.text);
      for (const f of b.fields ?? []) out.push(f.text);
    }
    if (b.type === 'context') for (const e of b.elements) out.push(e.text);
  }
  return out;
}

/** Asserts the message respects the Block Kit limits Slack enforces with invalid_blocks. */
function assertWithinLimits(m: SlackMessage): void {
  assert.ok(m.blocks.length <= SLACK_LIMITS.blocks);
  assert.ok(m.text.length <= SLACK_LIMITS.messageText);
  for (const b of m.blocks) {
    if (b.type === 'header') assert.ok(b.text.text.length <= SLACK_LIMITS.headerText, 'header');
    if (b.type === 'section') {
      if (b.text) assert.ok(b.text.text.length <= SLACK_LIMITS.sectionText, `section ${b.text.text.length}`);
      assert.ok((b.fields ?? []).length <= SLACK_LIMITS.sectionFields);
      for (const f of b.fields ?? []) assert.ok(f.text.length <= SLACK_LIMITS.sectionField, 'field');
    }
  }
}

const blockOf = <T extends Block['type']>(m: SlackMessage, type: T) =>
  m.blocks.filter((b): b is Extract<Block, { type: T }> => b.type === type);

describe('failureMessage', () => {
  test('contains every field of the report', () => {
    const r = report();
    const m = failureMessage(r);
    const json = JSON.stringify(m);
    for (const needle of [
      '2026-10',
      'infra',
      'os-cpu',
      'export',
      'batch 3 of 12',
      'Warp10ScriptError',
      'Exception at FETCH: quota exceeded',
      'line 42',
      'Maximum number of datapoints exceeded (1000000)',
      '*Attempts*\\n5',
      'offload-2026-10-infra-os-cpu',
      'run-0d5c-4e1f',
      'removed 2 unverified objects; hot data untouched',
    ]) {
      assert.ok(json.includes(needle), `missing ${needle}`);
    }
    // The resume command sits in a code block, verbatim, so it can be copied.
    assert.ok(texts(m).some((t) => t.includes('```' + r.resumeCommand + '```')));
    const [actions] = blockOf(m, 'actions');
    assert.equal(actions?.elements[0]?.url, r.uiUrl);
    assert.equal(m.blocks[0]?.type, 'header');
    assert.match(m.text, /Offload failed: 2026-10 infra\/os-cpu/);
    assert.ok(m.text.includes(r.uiUrl) && m.text.includes(r.resumeCommand), 'fallback text is actionable');
    assertWithinLimits(m);
  });

  test('batch without a count, and no Warp 10 section when there is no Warp 10 detail', () => {
    const m = failureMessage(
      report({ batch: 7, batchCount: undefined, error: { type: 'E', message: 'boom' } }),
    );
    const json = JSON.stringify(m);
    assert.ok(json.includes('batch 7'));
    assert.ok(!json.includes(' of '));
    assert.ok(!json.includes('Warp 10 error'));
  });

  test('secrets are redacted everywhere, including escaped and URL-encoded forms', () => {
    const token = 'xoxb-1234-5678-SeCrEtToKeN';
    const odd = 'p<ss&word>42';
    const m = failureMessage(
      report({
        error: {
          type: 'HttpError',
          message: `POST failed with header Authorization: Bearer ${token} and ${odd}`,
          warp10: { line: 3, message: `'${token}' AUTHENTICATE` },
        },
        resumeCommand: `SLACK=${encodeURIComponent(odd)} npm run start-archive`,
      }),
      [token, odd, ''],
    );
    const json = JSON.stringify(m);
    for (const leaked of [token, odd, 'p&lt;ss&amp;word&gt;42', encodeURIComponent(odd)]) {
      assert.ok(!json.includes(leaked), `leaked ${leaked}`);
    }
    assert.ok(m.text.includes(REDACTED));
    assert.ok(texts(m).filter((t) => t.includes(REDACTED)).length >= 3, 'error, Warp 10 and resume sections');
    // An empty secret must not redact everything.
    assert.ok(json.includes('HttpError'));
  });

  test('long errors are truncated within Slack limits and code blocks stay closed', () => {
    const long = 'x'.repeat(20_000);
    const m = failureMessage(
      report({
        error: { type: 'T'.repeat(500), message: long, warp10: { line: 1, message: 'y'.repeat(9000) } },
        dataset: 'd'.repeat(3000),
        resumeCommand: 'npm run start-archive -- ' + 'z'.repeat(5000),
      }),
    );
    assertWithinLimits(m);
    const errText = texts(m).find((t) => t.startsWith('*Error:*'));
    assert.ok(errText);
    assert.ok(errText.includes('truncated, 20000 chars in total'));
    assert.ok(errText.endsWith('```'));
    assert.ok(errText.length > 2500, 'uses the room it has');
  });

  test('mrkdwn is escaped: an error cannot ping @channel or inject links', () => {
    const m = failureMessage(
      report({ error: { type: 'E', message: 'see <!channel> & <http://evil|click>' } }),
    );
    const json = JSON.stringify(m);
    assert.ok(!json.includes('<!channel>'));
    assert.ok(json.includes('&lt;!channel&gt; &amp; &lt;http://evil|click&gt;'));
  });

  test('a malformed UI link becomes text instead of an invalid button', () => {
    const m = failureMessage(report({ uiUrl: 'not a url' }));
    assert.equal(blockOf(m, 'actions').length, 0);
    assert.ok(texts(m).some((t) => t.includes('Temporal Web UI:* not a url')));
  });
});

describe('successMessage', () => {
  const summary = (over: Partial<RunSummary> = {}): RunSummary => ({
    month: '2026-10',
    archived: 1234,
    skipped: 56,
    failed: [],
    points: 9_876_543_210,
    bytes: 5 * 1024 ** 4 + 512 * 1024 ** 3,
    durationMs: 3_723_000,
    uiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/offload-2026-10',
    workflowId: 'offload-2026-10',
    ...over,
  });

  test('counts, human bytes, duration and link', () => {
    const m = successMessage(summary());
    const json = JSON.stringify(m);
    assert.match(m.blocks[0]?.type === 'header' ? m.blocks[0].text.text : '', /✅ Offload 2026-10 complete/);
    for (const needle of [
      '*Archived*\\n1,234',
      '*Skipped*\\n56',
      '*Failed*\\n0',
      '9,876,543,210',
      '5.5 TiB',
      '1h 02m 03s',
    ]) {
      assert.ok(json.includes(needle), `missing ${needle}`);
    }
    assert.equal(blockOf(m, 'actions')[0]?.elements[0]?.url, summary().uiUrl);
    assertWithinLimits(m);
  });

  test('failed datasets are listed with workflow IDs, capped', () => {
    const failed = Array.from({ length: 25 }, (_, i) => ({
      group: 'clients',
      dataset: `ds-${i}`,
      workflowId: `wf-ds-${i}`,
      phase: 'verify',
    }));
    const m = successMessage(summary({ failed }), [], { maxFailedListed: 10 });
    const json = JSON.stringify(m);
    assert.match(m.text, /25 failed/);
    assert.ok(json.includes('⚠️ Offload 2026-10 finished with 25 failed datasets'));
    assert.ok(json.includes('wf-ds-0') && json.includes('wf-ds-9'));
    assert.ok(!json.includes('wf-ds-10'));
    assert.ok(json.includes('…and 15 more'));
    assertWithinLimits(m);
  });

  test('a huge failure list still fits one section', () => {
    const failed = Array.from({ length: 500 }, (_, i) => ({
      group: 'g'.repeat(100),
      dataset: `ds-${i}`,
      workflowId: 'w'.repeat(150) + i,
    }));
    const m = successMessage(summary({ failed }), [], { maxFailedListed: 500 });
    assertWithinLimits(m);
    assert.ok(JSON.stringify(m).includes('more (see the Temporal Web UI)'));
  });

  test('redacts secrets', () => {
    const m = successMessage(summary({ uiUrl: 'https://ui.example/?token=abcSECRETxyz' }), ['abcSECRETxyz']);
    assert.ok(!JSON.stringify(m).includes('abcSECRETxyz'));
  });
});

describe('helpers', () => {
  test('humanBytes', () => {
    assert.equal(humanBytes(0), '0 B');
    assert.equal(humanBytes(1023), '1023 B');
    assert.equal(humanBytes(1024), '1 KiB');
    assert.equal(humanBytes(1536), '1.5 KiB');
    assert.equal(humanBytes(1024 ** 2 - 1), '1 MiB');
    assert.equal(humanBytes(3.25 * 1024 ** 3), '3.3 GiB');
  });

  test('formatDuration', () => {
    assert.equal(formatDuration(250), '250 ms');
    assert.equal(formatDuration(42_000), '42s');
    assert.equal(formatDuration(185_000), '3m 05s');
    assert.equal(formatDuration(90_061_000), '1d 1h 01m');
  });

  test('truncate never splits an entity and states the original length', () => {
    // The cut (100 - marker) falls inside '&amp;'.
    const s = 'a'.repeat(64) + '&amp;' + 'b'.repeat(100);
    const t = truncate(s, 100);
    assert.ok(t.length <= 100);
    assert.match(t, /^a+… \[truncated, 169 chars in total\]$/);
  });
});
