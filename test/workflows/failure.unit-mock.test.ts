// UNIT TEST with a MOCK Warp 10 runner (test/support/mock-warp10.ts): the failure path (issue 5). A
// failed `archive` starts the compensating `archiveFailure` workflow, which removes what the failed run
// left unverified, records the failure and tells the team on Slack — here a local fake of the Slack
// Web API (test/support/fake-slack.ts) driven through the real @slack/web-api client. Real Temporal dev
// server, real archive store (temp directory, and the S3 store on a local S3 server); no Warp 10 needed.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  archiveWorkflowId,
  batchManifestKey,
  batchObjectKey,
  failureKey,
  failureWorkflowId,
} from '../../src/archive/layout.ts';
import { BatchManifestSchema } from '../../src/archive/manifest.ts';
import { StorePermanentError, type ArchiveStore } from '../../src/store/types.ts';
import { workflowUiUrl } from '../../src/ui-url.ts';
import { resumeCommand } from '../../src/workflows/failure.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import {
  COMPLETE_MONTH_KEYS,
  E,
  MOCK_TOKENS,
  MONTH,
  S,
  activityResults,
  findSecrets,
  historyText,
  mockOffloader,
  monthKeys,
  seedDataset,
  type MockOffloader,
} from '../support/mock-harness.ts';
import { MockWarp10, type MockCall } from '../support/mock-warp10.ts';
import { startS3Server } from '../support/s3-server.ts';
import { temporalEnv, uniqueId } from '../support/stack.ts';

const SLACK_TOKEN = `xoxb-mock-${randomUUID()}`;
process.env.OFFLOADER_MOCK_SLACK_TOKEN = SLACK_TOKEN;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await temporalEnv();
});
after(async () => {
  await env?.teardown();
});

const slackConfig = (fake: FakeSlack) => ({
  token: { env: 'OFFLOADER_MOCK_SLACK_TOKEN' },
  channel: '#ops',
  apiUrl: fake.apiUrl,
});

/** archive-read calls for the batch holding `selector`: export (wrap) or verify (no wrap). */
const readOf = (selector: string, wrap: boolean) => (c: MockCall) =>
  c.params.wrap === wrap && (c.params.selectors as string[]).includes(selector);
const deleteOf = (selector: string) => (c: MockCall) =>
  (c.params.expected as [string][]).some((e) => e[0] === selector);

/**
 * Runs `archive` until it fails and its compensating workflow ends; returns the error, both handles and
 * the compensation's result.
 */
async function failedRun(o: MockOffloader) {
  const worker = await o.worker();
  return worker.runUntil(async () => {
    const handle = await o.start();
    const error = await handle.result().then(
      () => assert.fail('the archive should have failed'),
      (e: unknown) => e,
    );
    const failure = env.client.workflow.getHandle(failureWorkflowId(o.ref, handle.firstExecutionRunId));
    const outcome = (await failure.result()) as {
      removed: string[];
      removedIndex?: string;
      notified: boolean;
    };
    return { error, handle, runId: handle.firstExecutionRunId, failure, outcome };
  });
}

/** Every month point of the dataset still in the mock, by selector. */
function monthPointsLeft(mock: MockWarp10, cls: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const sel of mock.selectors().filter((s) => s.startsWith(`${cls}{`))) {
    const n = mock.points(sel).filter((p) => p.ts >= S && p.ts < E).length;
    if (n > 0) out.set(sel, n);
  }
  return out;
}

describe(
  'archiveFailure (UNIT, MOCK Warp 10 runner, real Temporal, store and Slack client)',
  { concurrency: true },
  () => {
    test('a WarpScript error: compensation, hot data intact, one complete Slack message, no token anywhere', async () => {
      const fake = await startFakeSlack({ token: SLACK_TOKEN, channels: ['#ops'] });
      const s3 = await startS3Server(['archive']);
      process.env.OFFLOADER_MOCK_S3_KEY_ID = s3.accessKeyId;
      process.env.OFFLOADER_MOCK_S3_SECRET = s3.secretAccessKey;
      const cls = uniqueId('test.mock.fail');
      const mock = new MockWarp10({ tokens: MOCK_TOKENS });
      const data = seedDataset(mock, cls);
      const hot = mock.snapshot();
      const batch2 = data.batches(10)[1]?.[0] as string;
      // Exporting batch 2: Warp 10 unreachable twice (retried), then a script error (not retried).
      const warpMessage =
        "Exception at 'FETCH' in section [TOP] (Exceeded maximum number of fetched datapoints)";
      mock.failNext('archive-read', 2, { kind: 'unavailable' }, readOf(batch2, true));
      mock.failNext(
        'archive-read',
        1,
        { kind: 'script', line: 13, message: warpMessage },
        readOf(batch2, true),
      );
      const o = await mockOffloader(env, {
        name: 'fail',
        mock,
        cls,
        slack: slackConfig(fake),
        store: {
          type: 's3',
          endpoint: s3.endpoint,
          region: s3.region,
          bucket: 'archive',
          accessKeyId: { env: 'OFFLOADER_MOCK_S3_KEY_ID' },
          secretAccessKey: { env: 'OFFLOADER_MOCK_S3_SECRET' },
        },
      });
      try {
        const { error, handle, runId, failure, outcome } = await failedRun(o);
        assert.ok(error instanceof WorkflowFailedError);
        assert.equal((error.cause?.cause as { type?: string } | undefined)?.type, 'WarpScriptError');
        assert.equal(mock.calls('archive-read', readOf(batch2, true)).length, 3);

        // Compensation: batch 1 was exported but never verified: removed; batch 2 left nothing; batch 3
        // never started. (Verified and deleted batches are kept: see the delete failure below.)
        assert.deepEqual(outcome.removed.sort(), [batchManifestKey(o.ref, 1), batchObjectKey(o.ref, 1)]);
        assert.deepEqual(await monthKeys(o.rt.store, o.ref), ['failure.json', 'plan.json']);
        assert.deepEqual(mock.snapshot(), hot, 'hot data intact');
        assert.equal(mock.calls('archive-delete').length, 0);
        const record = await o.rt.store.getText(failureKey(o.ref));
        assert.deepEqual(
          (({ phase, batch, error: e }) => ({ phase, batch, type: e.type }))(JSON.parse(record)),
          { phase: 'export', batch: 2, type: 'WarpScriptError' },
        );

        // Exactly one message, carrying everything needed to act.
        assert.equal(outcome.notified, true);
        const messages = fake.messages();
        assert.equal(messages.length, 1);
        const msg = messages[0];
        assert.equal(msg?.channel, '#ops');
        const shown = `${msg?.text}\n${JSON.stringify(msg?.blocks)}`;
        const link = workflowUiUrl(o.config.temporal.uiUrl, 'default', archiveWorkflowId(o.ref), runId);
        const command = resumeCommand(o.ref);
        assert.equal(
          command,
          `npm run start-archive -- --month ${MONTH} --group infra --dataset ${o.ref.dataset} --wait`,
        );
        for (const expected of [
          MONTH,
          '`infra`',
          `\`${o.ref.dataset}\``,
          '*Phase*\\nexport',
          '*Batch*\\nbatch 2 of 3',
          '*Attempts*\\n3',
          '`WarpScriptError`',
          '*Warp 10 error* at line 13',
          warpMessage,
          command,
          link,
        ]) {
          assert.ok(shown.includes(expected), `the message shows ${expected}`);
        }
        const button = JSON.stringify(msg?.blocks).includes(`"url":"${link}"`);
        assert.ok(button, 'a button links to the failed run in the Web UI');
        const ui = await fetch(link);
        assert.equal(ui.status, 200, `${link} answers 200`);
        await ui.body?.cancel();

        // No token of any kind in Slack, in either workflow's history, nor in the failure record.
        const secrets = {
          'Warp 10 read token': MOCK_TOKENS.read,
          'Warp 10 write token': MOCK_TOKENS.write,
          'Slack token': SLACK_TOKEN,
          'S3 access key id': s3.accessKeyId,
          'S3 secret key': s3.secretAccessKey,
        };
        const slackTraffic = fake
          .requests()
          .map((r) => `${r.path} ${r.rawBody} ${JSON.stringify(r.body)}`)
          .join('\n');
        const archiveHistory = await historyText(handle);
        const failureHistory = await historyText(failure);
        // The payloads are decoded: what the histories carry is readable, so a token would be found.
        assert.ok(archiveHistory.includes(warpMessage) && failureHistory.includes(command));
        assert.deepEqual(findSecrets(slackTraffic, secrets), [], 'no token sent to Slack');
        assert.deepEqual(findSecrets(archiveHistory, secrets), [], 'no token in the archive history');
        assert.deepEqual(findSecrets(failureHistory, secrets), [], 'no token in the failure history');
        assert.deepEqual(findSecrets(record, secrets), [], 'no token in failure.json');
      } finally {
        await o.close();
        await fake.close();
        await s3.stop();
      }
    });

    test('a delete failure without Slack: deleted and verified batches kept, alert in the worker log, rerun resumes', async () => {
      const cls = uniqueId('test.mock.faildel');
      const mock = new MockWarp10({ tokens: MOCK_TOKENS });
      const data = seedDataset(mock, cls);
      const [b1, b2, b3] = data.batches(10) as [string[], string[], string[]];
      const warpMessage =
        "Exception at 'DELETE' in section [TOP] (mock: delete endpoint refused the request)";
      mock.failNext(
        'archive-delete',
        1,
        { kind: 'script', line: 99, message: warpMessage },
        deleteOf(b2[0] as string),
      );
      const o = await mockOffloader(env, { name: 'faildel', mock, cls });
      try {
        assert.equal(o.rt.notifier.transport, 'log');
        const { failure, outcome } = await failedRun(o);

        // Batch 1's data is gone from Warp 10, batches 2 and 3 are verified: every archive object stays.
        // Only the month index the run staged ahead of its commit goes (nothing names it).
        assert.deepEqual(outcome.removed, []);
        assert.match(outcome.removedIndex ?? '', /^infra\/[^/]+\/2026-10\/index-[0-9a-f]{16}\.idx$/);
        const status = async (b: number) =>
          BatchManifestSchema.parse(JSON.parse(await o.rt.store.getText(batchManifestKey(o.ref, b)))).status;
        assert.deepEqual(
          [await status(1), await status(2), await status(3)],
          ['deleted', 'verified', 'verified'],
        );
        assert.deepEqual(
          await monthKeys(o.rt.store, o.ref),
          // Not committed: no manifest.json, and no month index (the commit writes it).
          [
            ...COMPLETE_MONTH_KEYS.filter((k) => k !== 'manifest.json' && k !== 'index-<sha>.idx'),
            'failure.json',
          ].sort(),
        );
        const left = monthPointsLeft(mock, cls);
        assert.deepEqual([...left.keys()].sort(), [...b2, ...b3].sort(), 'only batch 1 left Warp 10');

        // No Slack: the notification went to the worker log, and the activity says so.
        assert.equal(outcome.notified, false);
        assert.deepEqual(await activityResults(failure, 'notifyFailure'), [
          { delivered: false, transport: 'log' },
        ]);
        const logged = o.logs.filter((l) => l.level === 'warn' && l.msg.includes('Offload failed'));
        assert.equal(logged.length, 1);
        for (const expected of [
          o.ref.dataset,
          'phase delete',
          'batch 2 of 3',
          'line 99',
          resumeCommand(o.ref),
        ]) {
          assert.ok(logged[0]?.msg.includes(expected), `the log line shows ${expected}`);
        }

        // The rerun resumes where it stopped: nothing exported again, batch 1 not deleted again.
        const reads = mock.calls('archive-read', (c) => c.params.wrap === true).length;
        const result = await o.archive();
        assert.equal(result.status, 'archived');
        assert.deepEqual([result.batches, result.series, result.points], [3, 25, data.points]);
        assert.equal(mock.calls('archive-read', (c) => c.params.wrap === true).length, reads);
        assert.equal(mock.calls('archive-delete', deleteOf(b1[0] as string)).length, 1);
        assert.deepEqual(monthPointsLeft(mock, cls), new Map());
      } finally {
        await o.close();
      }
    });

    test('an object left without manifest (orphan) is removed with the unverified batches', async () => {
      const fake = await startFakeSlack({ token: SLACK_TOKEN, channels: ['#ops'] });
      const cls = uniqueId('test.mock.orphan');
      const mock = new MockWarp10({ tokens: MOCK_TOKENS });
      seedDataset(mock, cls);
      const hot = mock.snapshot();
      // The store refuses batch 3's manifest once its object is written: batch 3's object is an orphan.
      const wrapStore = (store: ArchiveStore): ArchiveStore => ({
        description: store.description,
        put: (key, body, opts) =>
          key.endsWith('/batch-00003.json')
            ? Promise.reject(
                new StorePermanentError(`mock: access denied writing ${key}`, {
                  operation: 'put',
                  key,
                  code: 'AccessDenied',
                  httpStatus: 403,
                }),
              )
            : store.put(key, body, opts),
        get: (key) => store.get(key),
        getRange: (key, offset, length) => store.getRange(key, offset, length),
        getText: (key) => store.getText(key),
        head: (key) => store.head(key),
        list: (prefix) => store.list(prefix),
        delete: (key) => store.delete(key),
        sha256: (key) => store.sha256(key),
        close: () => store.close(),
      });
      const o = await mockOffloader(env, { name: 'orphan', mock, cls, slack: slackConfig(fake), wrapStore });
      try {
        const { outcome } = await failedRun(o);
        assert.deepEqual(outcome.removed.sort(), [
          batchManifestKey(o.ref, 1),
          batchObjectKey(o.ref, 1),
          batchManifestKey(o.ref, 2),
          batchObjectKey(o.ref, 2),
          batchObjectKey(o.ref, 3),
        ]);
        assert.deepEqual(await monthKeys(o.rt.store, o.ref), ['failure.json', 'plan.json']);
        assert.deepEqual(mock.snapshot(), hot, 'hot data intact');
        const messages = fake.messages();
        assert.equal(messages.length, 1);
        assert.match(messages[0]?.text ?? '', /phase export \(batch 3 of 3\).*StorePermanentError/);
      } finally {
        await o.close();
        await fake.close();
      }
    });

    test('Slack answering 429 twice, then 200: the message is delivered exactly once', async () => {
      const fake = await startFakeSlack({ token: SLACK_TOKEN, channels: ['#ops'] });
      fake.failNext(2, { status: 429, retryAfter: 1 });
      const cls = uniqueId('test.mock.ratelimit');
      const mock = new MockWarp10({ tokens: MOCK_TOKENS });
      seedDataset(mock, cls, 3);
      mock.failNext('archive-plan', 1, { kind: 'script', line: 8, message: "Exception at 'FIND' (mock)" });
      const o = await mockOffloader(env, { name: 'ratelimit', mock, cls, slack: slackConfig(fake) });
      try {
        const { failure, outcome } = await failedRun(o);
        assert.equal(outcome.notified, true);
        assert.equal(fake.messages().length, 1);
        assert.deepEqual(
          fake.requests().map((r) => [r.path, r.status]),
          [
            ['/api/chat.postMessage', 429],
            ['/api/chat.postMessage', 429],
            ['/api/chat.postMessage', 200],
          ],
        );
        // The client waited out the rate limit itself: one activity attempt, no duplicate post.
        assert.equal((await activityResults(failure, 'notifyFailure')).length, 1);
        assert.match(fake.messages()[0]?.text ?? '', /phase plan/);
      } finally {
        await o.close();
        await fake.close();
      }
    });
  },
);
