// The Warp 10 client against the REAL Warp 10 of the local stack.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Warp10Client, Warp10UnavailableError, WarpScriptError } from '../../src/warp10/client.ts';
import { httpRunner } from '../../src/warp10/runner.ts';
import { uniqueId, warp10OrSkip } from '../support/stack.ts';

describe('Warp10Client against the real Warp 10', () => {
  test("a syntax error surfaces Warp 10's line and message and is not retryable", async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const client = new Warp10Client({ url: w.url, secrets: [w.readToken] });
    const err = await client.exec("1 2 +\n'unclosed", { name: 'syntax' }).catch((e: unknown) => e);
    assert.ok(err instanceof WarpScriptError);
    assert.equal(err.retryable, false);
    assert.equal(err.line, 2);
    assert.match(err.warpMessage, /Cannot find end of string/);
    await client.close();
  });

  test('an error in a .mc2 file is reported at its line in that file, not the bound script', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const client = new Warp10Client({ url: w.url });
    const script = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'broken-export.mc2');
    const err = await httpRunner(client)
      .run(script, { token: w.readToken, selectors: [], start: 0, end: 1 })
      .catch((e: unknown) => e);
    assert.ok(err instanceof WarpScriptError);
    assert.equal(err.line, 4);
    assert.match(err.message, /broken-export\.mc2 failed at line 4: .*NOSUCHFUNCTION/);
    await client.close();
  });

  test("a bound list of 5,000 selectors and a map of 1,000 entries pass Warp 10's default stack depth (1000), exact", async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const client = new Warp10Client({ url: w.url });
    const script = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'echo.mc2');
    const list = Array.from({ length: 5_000 }, (_, i) => `os.cpu{host=h${i}}`);
    const map = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`k${i}`, [i, `v ${i}`]]));
    const [gotList] = await httpRunner(client).run<[string[]]>(script, { s: list });
    assert.deepEqual(gotList, list);
    const [gotMap] = await httpRunner(client).run<[Record<string, unknown>]>(script, { s: map });
    assert.deepEqual(gotMap, map);
    await client.close();
  });

  test('a stopped Warp 10 (nothing listening) gives a retryable failure', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    const client = new Warp10Client({ url: `http://127.0.0.1:${port}` });
    const err = await client.exec('1', { name: 'down' }).catch((e: unknown) => e);
    assert.ok(err instanceof Warp10UnavailableError);
    assert.equal(err.retryable, true);
    await client.close();
  });

  test('a string parameter with quotes, braces and WarpScript keywords is inert data', async (t) => {
    const w = warp10OrSkip(t);
    if (!w) return;
    const client = new Warp10Client({ url: w.url });
    const runner = httpRunner(client);
    const hostile = `x' 'pwned' STORE 1 2 + } ] %> <% 'a' FAIL STOP "; DELETE \u00e9\u00e9 %27`;
    const cls = uniqueId('test.inert').replace(/-/g, '.');
    // As a label value of a selector: it must match only a series with exactly that value.
    await client.update(
      w.writeToken,
      `1// ${cls}{v=${encodeURIComponent(hostile).replace(/'/g, '%27')}} 1\n2// ${cls}{v=other} 2`,
    );
    const [page] = await runner.run<[{ matched: number; selectors: string[] }]>('archive-plan', {
      token: w.readToken,
      class: cls,
      labels: { v: hostile },
      start: 0,
      end: 10,
      gskip: 0,
      gcount: 10,
    });
    assert.equal(page.matched, 1);
    assert.equal(page.selectors.length, 1);
    // And passed through a script, it comes back byte for byte.
    const [echo] = await runner.run<[string]>(
      path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'echo.mc2'),
      { s: hostile },
    );
    assert.equal(echo, hostile);
    await client.close();
  });
});
