// UNIT TEST with a MOCK of Warp 10's HTTP surface: what the local stack calls "ready" (its check, then a
// FIND with the read token; the check answers long before the directory has loaded) and the reasons it
// reports while not. The real server's start-up runs before every suite.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { warp10Readiness, warp10StartTimeoutMs } from '../../../scripts/stack/warp10.ts';

let findStatus = 500;
let server: http.Server;
let url: string;

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/api/v0/check') return res.end();
      if (req.url === '/api/v0/exec' && findStatus !== 200) {
        res.statusCode = findStatus;
        res.setHeader('X-Warp10-Error-Message', 'Directory is still initializing.');
        return res.end();
      }
      res.end('[0]');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

describe('Warp 10 readiness (mocked server)', () => {
  test('answering the check is not enough: FIND must work with the read token', async () => {
    findStatus = 500;
    assert.equal(
      await warp10Readiness(url, 'tok'),
      'a FIND with the read token answered HTTP 500 (Directory is still initializing.)',
    );
    findStatus = 200;
    assert.equal(await warp10Readiness(url, 'tok'), true);
  });

  test('nothing listening yet is a reason, not an exception', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const why = await warp10Readiness(`http://127.0.0.1:${port}`, 'tok');
    assert.match(String(why), /^GET \/api\/v0\/check: .*ECONNREFUSED/);
  });

  test('WARP10_START_TIMEOUT sets the bound (900 s by default) and a wrong value is refused', () => {
    const saved = process.env.WARP10_START_TIMEOUT;
    try {
      delete process.env.WARP10_START_TIMEOUT;
      assert.equal(warp10StartTimeoutMs(), 900_000);
      process.env.WARP10_START_TIMEOUT = '1800';
      assert.equal(warp10StartTimeoutMs(), 1_800_000);
      process.env.WARP10_START_TIMEOUT = 'soon';
      assert.throws(() => warp10StartTimeoutMs(), /WARP10_START_TIMEOUT=soon is not a number of seconds/);
    } finally {
      if (saved === undefined) delete process.env.WARP10_START_TIMEOUT;
      else process.env.WARP10_START_TIMEOUT = saved;
    }
  });
});
