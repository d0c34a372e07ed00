// Pure builders for the Slack messages the offloader sends. No I/O, and nothing imported at run time but the
// redaction (itself import-free), so they can run in an activity or in workflow code alike, and are trivially
// testable.
import type {
  ActionsBlock,
  Button,
  ContextBlock,
  DividerBlock,
  HeaderBlock,
  MrkdwnElement,
  SectionBlock,
} from '@slack/types';
import { redact } from '../config/redact.ts';

/** Slack Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks). Exceeding one is `invalid_blocks`. */
export const SLACK_LIMITS = {
  sectionText: 3000,
  sectionField: 2000,
  sectionFields: 10,
  headerText: 150,
  buttonText: 75,
  buttonUrl: 3000,
  contextElements: 10,
  blocks: 50,
  messageText: 40000,
} as const;

/**
 * The blocks these builders produce: Slack's own Block Kit types, narrowed to the elements used here (mrkdwn
 * text, link buttons), so that readers of a message need not handle what it never holds.
 */
export type Block =
  | HeaderBlock
  | (SectionBlock & { text?: MrkdwnElement; fields?: MrkdwnElement[] })
  | (ContextBlock & { elements: MrkdwnElement[] })
  | (ActionsBlock & { elements: Button[] })
  | DividerBlock;

/** What the notifier posts: `text` is the plain fallback used in notifications and by clients without blocks. */
export interface SlackMessage {
  text: string;
  blocks: Block[];
}

export type Phase = 'plan' | 'export' | 'verify' | 'delete' | 'commit';

export interface FailureReport {
  month: string;
  group: string;
  dataset: string;
  // Known phases autocomplete, any other string is still accepted.
  phase: Phase | (string & Record<never, never>);
  batch?: number;
  batchCount?: number;
  error: { type: string; message: string; warp10?: { line?: number; message?: string } };
  attempts: number;
  workflowId: string;
  runId?: string;
  /** Full link to the workflow in the Temporal Web UI. */
  uiUrl: string;
  /** Exact shell command that resumes the archive (or runs the restore again). */
  resumeCommand: string;
  /** What failed: an archive (the default) or a restore. */
  operation?: 'archive' | 'restore' | 'erase';
  /** What was cleaned up, e.g. 'removed 2 unverified objects; hot data untouched'. */
  compensation?: string;
}

export interface FailedDataset {
  group: string;
  dataset: string;
  workflowId: string;
  phase?: string;
}

export interface RunSummary {
  month: string;
  archived: number;
  skipped: number;
  failed: FailedDataset[];
  points: number;
  bytes: number;
  durationMs: number;
  uiUrl: string;
  workflowId?: string;
}

export interface SuccessMessageOptions {
  /** How many failed datasets are listed by name before "…and N more". */
  maxFailedListed?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Formatting helpers

/** Slack mrkdwn requires &, < and > escaped; unescaped `<…>` would also turn into links or @channel mentions. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Cuts `s` to at most `max` characters, saying so at the end. Never splits a surrogate pair or an
 * `&amp;`-style entity, which Slack would render as garbage.
 */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const marker = `… [truncated, ${s.length} chars in total]`;
  if (max <= marker.length) return s.slice(0, Math.max(0, max));
  let cut = s.slice(0, max - marker.length);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  cut = cut.replace(/&[a-z]{0,3}$/, '');
  return cut + marker;
}

/** Content for a ``` code block: escaped, no fence that would close it early, never empty. */
function codeBlock(s: string, max: number): string {
  const fence = '```';
  const body = escapeMrkdwn(s.length > 0 ? s : '(empty)').replace(/```/g, '`\u200b`\u200b`');
  return fence + truncate(body, max - 2 * fence.length) + fence;
}

/** An identifier shown as inline code, so `_` or `*` in dataset names don't become formatting. */
function inlineCode(s: string, max = 200): string {
  return '`' + truncate(escapeMrkdwn(s.replace(/`/g, "'")), max) + '`';
}

function mrkdwn(text: string, max: number = SLACK_LIMITS.sectionText): MrkdwnElement {
  return { type: 'mrkdwn', text: truncate(text, max) };
}

function field(label: string, value: string): MrkdwnElement {
  return mrkdwn(`*${label}*\n${value}`, SLACK_LIMITS.sectionField);
}

function header(text: string): HeaderBlock {
  return {
    type: 'header',
    text: { type: 'plain_text', text: truncate(text, SLACK_LIMITS.headerText), emoji: true },
  };
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * A button to the Web UI. Slack rejects the whole message (`invalid_blocks`) for a bad button URL, so a
 * malformed or over-long link degrades to text instead of losing the alert.
 */
function uiLinkBlock(uiUrl: string): Block {
  if (isHttpUrl(uiUrl) && uiUrl.length <= SLACK_LIMITS.buttonUrl) {
    return {
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open in Temporal Web UI', emoji: true },
          url: uiUrl,
          action_id: 'open_temporal_ui',
        },
      ],
    };
  }
  return {
    type: 'section',
    text: mrkdwn(`*Temporal Web UI:* ${escapeMrkdwn(uiUrl || '(no link configured)')}`),
  };
}

export function formatBatch(batch?: number, batchCount?: number): string {
  if (batch === undefined) return batchCount === undefined ? '—' : `${batchCount} batches`;
  return batchCount === undefined ? `batch ${batch}` : `batch ${batch} of ${batchCount}`;
}

/** 1234567 -> "1,234,567" (no Intl: keeps the output identical on every runtime). */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '-' : '';
  return sign + String(Math.round(Math.abs(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Binary units, as storage dashboards use: 1536 -> "1.5 KiB". */
export function humanBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return `${bytes} B`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${Math.round(v)} B`;
  // 1023.96 KiB would print as "1024.0 KiB": step up a unit instead.
  if (Number(v.toFixed(1)) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1).replace(/\.0$/, '')} ${units[i]}`;
}

/** 3723000 -> "1h 02m 03s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return String(ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const total = Math.round(ms / 1000);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const p2 = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${h}h ${p2(m)}m`;
  if (h > 0) return `${h}h ${p2(m)}m ${p2(s)}s`;
  if (m > 0) return `${m}m ${p2(s)}s`;
  return `${s}s`;
}

// ---------------------------------------------------------------------------------------------------------
// Messages

/**
 * The alert for a failed archive: what failed, where, why, and how to resume. Secrets are removed from the
 * input before truncation (a cut could otherwise leave half a token behind) and again from the output.
 */
export function failureMessage(report: FailureReport, secrets: readonly string[] = []): SlackMessage {
  const f = redact(report, secrets);
  const where = `${f.month} ${f.group}/${f.dataset}`;
  const title =
    f.operation === 'restore'
      ? 'Restore failed'
      : f.operation === 'erase'
        ? 'Erasure failed'
        : 'Offload failed';
  const batch = formatBatch(f.batch, f.batchCount);
  const label = (s: string) => truncate(escapeMrkdwn(s), 300);

  const blocks: Block[] = [
    header(`🚨 ${title}: ${where}`),
    {
      type: 'section',
      fields: [
        field('Month', label(f.month)),
        field('Group', inlineCode(f.group)),
        field('Dataset', inlineCode(f.dataset)),
        field('Phase', label(f.phase)),
        field('Batch', batch),
        field('Attempts', formatCount(f.attempts)),
      ],
    },
  ];

  const errHead = `*Error:* ${inlineCode(f.error.type || 'Error')}\n`;
  blocks.push({
    type: 'section',
    text: mrkdwn(errHead + codeBlock(f.error.message, SLACK_LIMITS.sectionText - errHead.length)),
  });

  const w = f.error.warp10;
  if (w && (w.line !== undefined || (w.message !== undefined && w.message !== ''))) {
    const wHead = `*Warp 10 error*${w.line !== undefined ? ` at line ${w.line}` : ''}\n`;
    blocks.push({
      type: 'section',
      text: mrkdwn(wHead + codeBlock(w.message ?? '', SLACK_LIMITS.sectionText - wHead.length)),
    });
  }

  if (f.compensation) {
    blocks.push({ type: 'section', text: mrkdwn(`*Compensation:* ${escapeMrkdwn(f.compensation)}`) });
  }

  const resumeHead =
    f.operation === 'archive' || !f.operation ? '*Resume with:*\n' : '*Run it again with:*\n';
  blocks.push({
    type: 'section',
    text: mrkdwn(resumeHead + codeBlock(f.resumeCommand, SLACK_LIMITS.sectionText - resumeHead.length)),
  });

  blocks.push(uiLinkBlock(f.uiUrl));
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(
        `Workflow ${inlineCode(f.workflowId, 500)}` + (f.runId ? ` · run ${inlineCode(f.runId, 100)}` : ''),
      ),
    ],
  });

  // The fallback is what a phone notification shows: one line that is enough to act on.
  const text = truncate(
    escapeMrkdwn(
      `🚨 ${title}: ${where}, phase ${f.phase} (${batch}) after ${f.attempts} attempt(s) — ` +
        `${f.error.type}: ${truncate(f.error.message, 300)}` +
        (w?.line !== undefined ? ` (Warp 10 line ${w.line})` : '') +
        ` — Web UI: ${f.uiUrl} — ${f.operation === 'archive' || !f.operation ? 'Resume' : 'Again'}: ${f.resumeCommand}`,
    ),
    2000,
  );

  return redact({ text, blocks }, secrets);
}

/** The monthly summary: counts, volume, duration, and which datasets failed (capped) with their workflow IDs. */
export function successMessage(
  summary: RunSummary,
  secrets: readonly string[] = [],
  options: SuccessMessageOptions = {},
): SlackMessage {
  const s = redact(summary, secrets);
  const maxListed = Math.max(0, options.maxFailedListed ?? 10);
  const failedCount = s.failed.length;
  const title =
    failedCount === 0
      ? `✅ Offload ${s.month} complete`
      : `⚠️ Offload ${s.month} finished with ${failedCount} failed dataset${failedCount === 1 ? '' : 's'}`;

  const blocks: Block[] = [
    header(title),
    {
      type: 'section',
      fields: [
        field('Archived', formatCount(s.archived)),
        field('Skipped', formatCount(s.skipped)),
        field('Failed', formatCount(failedCount)),
        field('Points', formatCount(s.points)),
        field('Bytes', humanBytes(s.bytes)),
        field('Duration', formatDuration(s.durationMs)),
      ],
    },
  ];

  if (failedCount > 0) {
    const head = '*Failed datasets:*\n';
    const lines: string[] = [];
    let used = head.length;
    let listed = 0;
    // Reserve room for the "…and N more" line so the section never exceeds Slack's limit.
    const budget = SLACK_LIMITS.sectionText - 80;
    for (const d of s.failed) {
      if (listed >= maxListed) break;
      const line =
        `• ${inlineCode(`${d.group}/${d.dataset}`, 300)}` +
        (d.phase ? ` (${truncate(escapeMrkdwn(d.phase), 50)})` : '') +
        ` — ${inlineCode(d.workflowId, 300)}`;
      if (used + line.length + 1 > budget) break;
      lines.push(line);
      used += line.length + 1;
      listed++;
    }
    if (listed < failedCount)
      lines.push(`…and ${formatCount(failedCount - listed)} more (see the Temporal Web UI)`);
    blocks.push({ type: 'section', text: mrkdwn(head + lines.join('\n')) });
  }

  blocks.push(uiLinkBlock(s.uiUrl));
  if (s.workflowId) {
    blocks.push({ type: 'context', elements: [mrkdwn(`Workflow ${inlineCode(s.workflowId, 500)}`)] });
  }

  const text = truncate(
    escapeMrkdwn(
      `${title}: ${formatCount(s.archived)} archived, ${formatCount(s.skipped)} skipped, ${formatCount(failedCount)} failed; ` +
        `${formatCount(s.points)} points, ${humanBytes(s.bytes)} in ${formatDuration(s.durationMs)} — Web UI: ${s.uiUrl}`,
    ),
    2000,
  );

  return redact({ text, blocks }, secrets);
}
