// UNIT TEST with a MOCK of Warp 10's HTTP surface: checks how the client maps replies and transport
// failures to typed errors. The behaviour against the real server is in client.test.ts.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  Warp10Client,
  Warp10HttpError,
  Warp10UnavailableError,
  WarpScriptError,
} from '../../src/warp10/client.ts';

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;
let handler: Handler = (_req, _body, res) => res.end('[]');
let server: http.Server;
let url: string;

before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const SECRET = 'secret-token-abcdef';

describe('Warp10Client (mocked server)', () => {
  test('parses the JSON stack and exposes the stats headers', async () => {
    handler = (req, body, res) => {
      assert.equal(req.url, '/api/v0/exec');
      assert.equal(body, '1 2 +');
      res.setHeader('X-Warp10-Elapsed', '12345');
      res.setHeader('X-Warp10-Ops', '3');
      res.setHeader('X-Warp10-Fetched', '0');
      res.end('[3]');
    };
    const client = new Warp10Client({ url });
    const r = await client.exec('1 2 +', { name: 'add' });
    assert.deepEqual(r.stack, [3]);
    assert.deepEqual([r.elapsedNs, r.ops, r.fetched], [12345, 3, 0]);
    await client.close();
  });

  test("a script error carries Warp 10's line and message, is not retryable and hides tokens", async () => {
    handler = (_req, _body, res) => {
      res.statusCode = 500;
      res.setHeader('X-Warp10-Error-Line', '7');
      res.setHeader(
        'X-Warp10-Error-Message',
        `Exception at 'FETCH' in section [TOP] (invalid token ${SECRET})`,
      );
      res.end('ERROR');
    };
    const client = new Warp10Client({ url, secrets: [SECRET] });
    const err = await client.exec('x', { name: 'archive-export' }).catch((e: unknown) => e);
    assert.ok(err instanceof WarpScriptError);
    assert.equal(err.retryable, false);
    assert.equal(err.line, 7);
    assert.match(err.message, /archive-export failed at line 7: Exception at 'FETCH'/);
    assert.ok(!err.message.includes(SECRET));
    await client.close();
  });

  test('503 without error headers is retryable', async () => {
    handler = (_req, _body, res) => {
      res.statusCode = 503;
      res.end('Service Unavailable');
    };
    const client = new Warp10Client({ url });
    const err = await client.exec('x', { name: 's' }).catch((e: unknown) => e);
    assert.ok(err instanceof Warp10UnavailableError);
    assert.equal(err.retryable, true);
    assert.match(err.message, /HTTP 503/);
    await client.close();
  });

  test('400 without error headers is not retryable', async () => {
    handler = (_req, _body, res) => {
      res.statusCode = 400;
      res.end('bad');
    };
    const client = new Warp10Client({ url });
    const err = await client.exec('x', { name: 's' }).catch((e: unknown) => e);
    assert.ok(err instanceof Warp10HttpError);
    assert.equal(err.retryable, false);
    await client.close();
  });

  test('a refused connection is retryable', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const client = new Warp10Client({ url: `http://127.0.0.1:${port}` });
    const err = await client.exec('x', { name: 's' }).catch((e: unknown) => e);
    assert.ok(err instanceof Warp10UnavailableError);
    assert.equal(err.kind, 'connect');
    assert.equal(err.retryable, true);
    assert.equal(await client.check(), false);
    await client.close();
  });

  test('a script slower than the request timeout is a retryable timeout', async () => {
    handler = (_req, _body, res) => setTimeout(() => res.end('[]'), 1500);
    const client = new Warp10Client({ url, requestTimeoutMs: 300 });
    const err = await client.exec('x', { name: 's' }).catch((e: unknown) => e);
    assert.ok(err instanceof Warp10UnavailableError);
    assert.equal(err.kind, 'timeout');
    await client.close();
  });

  test('an aborted request is reported as aborted, not retryable', async () => {
    handler = (_req, _body, res) => setTimeout(() => res.end('[]'), 1500);
    const client = new Warp10Client({ url });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = await client.exec('x', { name: 's', signal: ac.signal }).catch((e: unknown) => e);
    assert.ok(err instanceof Warp10UnavailableError);
    assert.equal(err.kind, 'aborted');
    assert.equal(err.retryable, false);
    await client.close();
  });

  test('update sends the write token header and surfaces refusals without it', async () => {
    handler = (req, _body, res) => {
      assert.equal(req.headers['x-warp10-token'], SECRET);
      res.statusCode = 403;
      res.setHeader('X-Warp10-Error-Message', `Invalid token ${SECRET}`);
      res.end();
    };
    const client = new Warp10Client({ url, secrets: [SECRET] });
    const err = await client.update(SECRET, '1// a{} 1').catch((e: unknown) => e);
    assert.ok(err instanceof Warp10HttpError);
    assert.ok(!err.message.includes(SECRET));
    await client.close();
  });
});
