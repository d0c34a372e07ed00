// The secrets audit (issue 11 §4): six distinct secrets (the real Warp 10 read and write tokens, a Slack bot
// token, an S3 access key and secret key, a Temporal API key) drive a real worker process, one succeeding
// and one failing month, the CLIs with and without --json, Slack through its local fake and S3 through its
// local fake; then every workflow history (payloads decoded with the default data converter), every log
// line, every Slack request (but the Authorization header the Web API needs), every store object (gunzipped)
// and every CLI output are searched for each secret, in every form it could take. 0 hits. A control proves
// the search finds a secret planted in each kind of place.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { monthRange } from '../../src/month.ts';
import { createStore } from '../../src/store/index.ts';
import type { ArchiveStore } from '../../src/store/types.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { tempDir } from '../support/config.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { startS3Server, type TestS3Server } from '../support/s3-server.ts';
import { toInputFormat } from '../support/seed.ts';
import { temporalEnv, uniqueId } from '../support/stack.ts';
import { exited, startWorkerProcess, waitForOutput, type WorkerProcess } from '../support/worker-process.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MONTH = '2026-07';
const S = Number(monthRange(MONTH, 'UTC').startUs);
const BUCKET = 'secrets-audit';
const BROKEN = path.join(ROOT, 'test', 'support', 'warpscript', 'broken-export.mc2');

interface Secret {
  name: string;
  value: string;
}

/** Every form a secret could take in our output: raw, URL-encoded, JSON-escaped, base64, WarpScript-bound. */
function forms(value: string): string[] {
  const out = new Set([
    value,
    encodeURIComponent(value),
    JSON.stringify(value).slice(1, -1),
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
    // How src/warp10/warpscript.ts binds a string: every non-alphanumeric byte as %XX.
    [...Buffer.from(value)]
      .map((b) =>
        /[A-Za-z0-9]/.test(String.fromCharCode(b))
          ? String.fromCharCode(b)
          : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
      )
      .join(''),
  ]);
  return [...out];
}

/** Which secrets occur in `text` (in any form), with where: `[]` is the answer we want. */
function hits(secrets: Secret[], where: string, text: string): string[] {
  const found: string[] = [];
  for (const s of secrets) {
    for (const f of forms(s.value)) {
      const i = text.indexOf(f);
      if (i !== -1)
        found.push(`${s.name} in ${where}: …${text.slice(Math.max(0, i - 60), i + f.length + 20)}…`);
    }
  }
  return found;
}

/** A history as JSON text, every payload decoded with the default data converter, other bytes as UTF-8. */
function decodeHistory(history: unknown): string {
  const walk = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.data instanceof Uint8Array && o.metadata !== null && typeof o.metadata === 'object') {
        try {
          return {
            decoded: defaultPayloadConverter.fromPayload(o as Payload),
            raw: walk({ ...o, data: undefined }),
          };
        } catch {
          // not a payload the default converter knows: keep its bytes as text
        }
      }
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return JSON.stringify(walk(history), (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

/** Every object of the store as text, gzip objects gunzipped. */
async function storeText(store: ArchiveStore): Promise<Array<{ key: string; text: string }>> {
  const out = [];
  for (const { key } of await store.list('')) {
    const chunks: Buffer[] = [];
    for await (const c of await store.get(key)) chunks.push(Buffer.from(c as Uint8Array));
    const bytes = Buffer.concat(chunks);
    out.push({ key, text: (key.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8') });
  }
  return out;
}

interface Output {
  args: string;
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(script: string, args: string[], vars: Record<string, string>): Promise<Output> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...vars },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ args: `${script} ${args.join(' ')}`, status, stdout, stderr }));
  });
}

let env: TestWorkflowEnvironment;
let s3: TestS3Server | undefined;
let slack: FakeSlack | undefined;
let worker: WorkerProcess | undefined;
let store: ArchiveStore | undefined;
const secrets: Secret[] = [];
const outputs: Output[] = [];
const histories: Array<{ id: string; text: string }> = [];
let taskQueue = '';

before(async () => {
  env = await temporalEnv();
  const { WARP10_URL, WARP10_READ_TOKEN, WARP10_WRITE_TOKEN } = process.env;
  if (!WARP10_URL || !WARP10_READ_TOKEN || !WARP10_WRITE_TOKEN) return;
  s3 = await startS3Server([BUCKET]);
  const tag = randomBytes(6).toString('hex');
  secrets.push(
    { name: 'warp10.readToken', value: WARP10_READ_TOKEN },
    { name: 'warp10.writeToken', value: WARP10_WRITE_TOKEN },
    { name: 'slack.token', value: `xoxb-audit-${tag}-SLACKSECRET` },
    { name: 'store.accessKeyId', value: s3.accessKeyId },
    { name: 'store.secretAccessKey', value: s3.secretAccessKey },
    { name: 'temporal.apiKey', value: `tmprl-audit-${tag}-APIKEYSECRET` },
  );
  assert.equal(new Set(secrets.map((s) => s.value)).size, secrets.length, 'distinct secrets');
  slack = await startFakeSlack({ token: secrets[2]?.value, channels: ['#ops-archive'] });
  store = createStore({
    type: 's3',
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: BUCKET,
    prefix: '',
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });

  // Two datasets of the same month: one archives, one fails in export (a broken custom template).
  const okCls = uniqueId('test.audit.ok').replace(/-/g, '.');
  const badCls = uniqueId('test.audit.bad').replace(/-/g, '.');
  const w10 = new Warp10Client({ url: WARP10_URL });
  await w10.update(
    WARP10_WRITE_TOKEN,
    toInputFormat(
      [okCls, badCls].flatMap((cls) =>
        [1, 2, 3].map((h) => ({ cls, labels: { host: `h${h}` }, points: [{ ts: S + h * 1000, value: h }] })),
      ),
    ),
  );
  await w10.close();

  taskQueue = uniqueId('audit');
  const vars = {
    AUDIT_W10_READ: WARP10_READ_TOKEN,
    AUDIT_W10_WRITE: WARP10_WRITE_TOKEN,
    AUDIT_SLACK_TOKEN: secrets[2]?.value ?? '',
    AUDIT_S3_KEY: s3.accessKeyId,
    AUDIT_S3_SECRET: s3.secretAccessKey,
    AUDIT_TEMPORAL_API_KEY: secrets[5]?.value ?? '',
    LOG_LEVEL: 'debug',
  };
  const config = {
    timezone: 'UTC',
    warp10: { url: WARP10_URL, readToken: { env: 'AUDIT_W10_READ' }, writeToken: { env: 'AUDIT_W10_WRITE' } },
    temporal: {
      address: process.env.TEMPORAL_ADDRESS,
      taskQueue,
      uiUrl: process.env.TEMPORAL_UI_URL,
      // The dev server takes no TLS: the key travels in clear here, as a header the server ignores.
      apiKey: { env: 'AUDIT_TEMPORAL_API_KEY' },
      tls: false,
    },
    store: {
      type: 's3',
      endpoint: s3.endpoint,
      bucket: BUCKET,
      accessKeyId: { env: 'AUDIT_S3_KEY' },
      secretAccessKey: { env: 'AUDIT_S3_SECRET' },
    },
    slack: {
      token: { env: 'AUDIT_SLACK_TOKEN' },
      channel: '#ops-archive',
      apiUrl: slack.apiUrl,
      successSummary: { enabled: true },
    },
    schedule: { id: uniqueId('audit-schedule') },
    logging: { format: 'json', level: 'debug' },
    groups: [
      {
        name: 'audit',
        mode: 'parallel',
        datasets: [
          { name: 'ok', selector: { class: okCls }, seriesPerBatch: 2 },
          { name: 'bad', selector: { class: badCls }, seriesPerBatch: 2, templates: { export: BROKEN } },
        ],
      },
    ],
  };
  const configFile = path.join(tempDir('audit-config'), 'offload.json');
  writeFileSync(configFile, JSON.stringify(config));
  const cliVars = { OFFLOAD_CONFIG: configFile, ...vars };

  worker = startWorkerProcess(
    configFile,
    { url: WARP10_URL, readToken: '', writeToken: '' },
    {
      ...vars,
      // The audit's own variables only: the worker must not fall back on the stack's.
      WARP10_READ_TOKEN: '',
      WARP10_WRITE_TOKEN: '',
    },
  );
  await waitForOutput(worker, /worker on task queue/);

  const run = async (script: string, args: string[]) => {
    const out = await cli(script, args, cliVars);
    outputs.push(out);
    return out;
  };
  const sa = 'scripts/start-archive.ts';
  const dry = await run(sa, ['--month', MONTH, '--dataset', 'ok', '--dry-run', '--json']);
  assert.equal(dry.status, 0, dry.stderr);
  const ok = await run(sa, ['--month', MONTH, '--dataset', 'ok', '--wait']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /archived 3 series, 3 points/);
  const again = await run(sa, ['--month', MONTH, '--dataset', 'ok', '--json']);
  assert.equal(again.status, 0, again.stderr);
  const bad = await run(sa, ['--month', MONTH, '--dataset', 'bad', '--wait', '--json']);
  assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  assert.equal(JSON.parse(bad.stdout).status, 'failed');
  const badText = await run(sa, ['--month', MONTH, '--dataset', 'bad', '--wait']);
  assert.equal(badText.status, 1, badText.stderr);
  for (const args of [
    ['--month', MONTH, '--dataset', 'ok'],
    ['--month', MONTH, '--dataset', 'ok', '--json'],
  ]) {
    const v = await run('scripts/verify-archive.ts', args);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  }
  const r = await run('scripts/restore.ts', ['--month', MONTH, '--dataset', 'ok', '--dry-run', '--json']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const cmd of ['create', 'describe', 'delete']) {
    const sc = await run('scripts/schedule.ts', [cmd]);
    assert.equal(sc.status, 0, sc.stdout + sc.stderr);
  }

  // The failure workflows notify Slack and record failure.json: wait for both runs' notices.
  const deadline = Date.now() + 60_000;
  while (slack.messages().filter((m) => /FAILED|failed/i.test(JSON.stringify(m))).length < 2) {
    if (Date.now() > deadline)
      throw new Error(`no failure notices in Slack: ${JSON.stringify(slack.messages())}`);
    await new Promise((res) => setTimeout(res, 250));
  }
  // Every workflow of the run has ended before its history is read.
  for (;;) {
    let open = 0;
    for await (const wf of env.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` }))
      if (wf.status.name === 'RUNNING') open++;
    if (open === 0) break;
    if (Date.now() > deadline) throw new Error(`${open} workflow(s) of the audit still running`);
    await new Promise((res) => setTimeout(res, 250));
  }
  worker.kill('SIGTERM');
  await exited(worker);

  for await (const wf of env.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    histories.push({ id: `${wf.workflowId} (${wf.runId})`, text: decodeHistory(history) });
  }
});

after(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    worker.kill('SIGKILL');
    await exited(worker);
  }
  await store?.close();
  await slack?.close();
  await s3?.stop();
  await env?.teardown();
});

const N = 6;

describe('secrets audit', () => {
  test(`secrets: control — the search finds each of ${N} secrets in a string, a decoded payload and a gzip object`, async () => {
    assert.equal(secrets.length, N, 'the run was set up (the stack provides Warp 10)');
    for (const s of secrets) {
      const mine = [s];
      assert.equal(hits(mine, 'scratch', `a line … ${s.value} … of text`).length, 1);
      assert.equal(hits(mine, 'scratch', `url?t=${encodeURIComponent(`${s.value}/x`)}`).length > 0, true);
      const payload = defaultPayloadConverter.toPayload({ nested: { token: s.value } });
      assert.ok(
        hits(mine, 'payload', decodeHistory({ events: [{ input: { payloads: [payload] } }] })).length > 0,
      );
      const planted = `scratch/${uniqueId('planted')}.wrap.gz`;
      await store?.put(planted, gzipSync(`line with ${s.value}\n`));
      const objects = (await storeText(store as ArchiveStore)).filter((o) => o.key === planted);
      assert.ok(hits(mine, planted, objects[0]?.text ?? '').length > 0, 'found in a gunzipped object');
      await store?.delete(planted);
    }
  });

  test(`secrets: workflow histories (payloads decoded) — 0 hits of ${N} secrets`, () => {
    assert.equal(secrets.length, N);
    // The monthly check: the archive, its failure workflows, the group... at least both months' runs.
    assert.ok(histories.length >= 4, `${histories.length} histories`);
    assert.ok(histories.some((h) => h.text.includes('LiveDataChanged') || h.text.includes('WarpScript')));
    assert.deepEqual(
      histories.flatMap((h) => hits(secrets, h.id, h.text)),
      [],
    );
  });

  test(`secrets: worker log lines — 0 hits of ${N} secrets`, () => {
    assert.equal(secrets.length, N);
    const lines = (worker?.output() ?? '').split('\n').filter(Boolean);
    assert.ok(lines.length > 20, `${lines.length} log lines`);
    assert.deepEqual(
      lines.flatMap((l, i) => hits(secrets, `log line ${i + 1}`, l)),
      [],
    );
  });

  test(`secrets: Slack requests (bodies and headers but Authorization) — 0 hits of ${N} secrets`, () => {
    assert.equal(secrets.length, N);
    const reqs = slack?.requests() ?? [];
    assert.ok(
      reqs.some((r) => r.path.includes('chat.postMessage')),
      'messages were posted',
    );
    const found = reqs.flatMap((r, i) => {
      const { authorization: _auth, ...rest } = r;
      return hits(secrets, `Slack request ${i + 1} ${r.path}`, JSON.stringify(rest));
    });
    assert.deepEqual(found, []);
  });

  test('secrets: Slack token — only in the Authorization header of Web API requests', () => {
    const token = secrets.find((s) => s.name === 'slack.token')?.value;
    assert.ok(token);
    const reqs = slack?.requests() ?? [];
    assert.ok(reqs.length > 0);
    for (const r of reqs) assert.equal(r.authorization, `Bearer ${token}`, r.path);
  });

  test(`secrets: store objects (gunzipped) — 0 hits of ${N} secrets`, async () => {
    assert.equal(secrets.length, N);
    const objects = await storeText(store as ArchiveStore);
    const keys = objects.map((o) => o.key);
    assert.ok(
      keys.some((k) => k.endsWith('/manifest.json')),
      keys.join(', '),
    );
    assert.ok(
      keys.some((k) => k.endsWith('/failure.json')),
      keys.join(', '),
    );
    assert.ok(
      keys.some((k) => k.endsWith('.wrap.gz')),
      keys.join(', '),
    );
    assert.deepEqual(
      objects.flatMap((o) => hits(secrets, o.key, o.text)),
      [],
    );
  });

  test(`secrets: CLI output, text and --json — 0 hits of ${N} secrets`, () => {
    assert.equal(secrets.length, N);
    assert.ok(outputs.length >= 10, `${outputs.length} CLI runs`);
    assert.ok(
      outputs.some((o) => o.args.includes('--json')) && outputs.some((o) => !o.args.includes('--json')),
    );
    assert.deepEqual(
      outputs.flatMap((o) => hits(secrets, o.args, `${o.stdout}\n${o.stderr}`)),
      [],
    );
  });
});
