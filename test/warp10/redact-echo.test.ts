// Warp 10 echoes the failing part of a script in its errors: about 30 characters before the failing word,
// which cuts a token's WarpScript literal (`local%2Dread%2D…`, every byte outside [A-Za-z0-9] as %XX)
// anywhere, and quotes a string it could not parse, decoded. The client's errors and the worker's log
// lines must hold no form of a token, whole or in pieces. Real Warp 10 (skips without it).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { MIN_ECHOED_PIECE, REDACTED } from '../../src/config/redact.ts';
import { createLogger, memoryDestination } from '../../src/logging/logger.ts';
import { Warp10Client, WarpScriptError } from '../../src/warp10/client.ts';
import { httpRunner, type Params } from '../../src/warp10/runner.ts';
import { bind, loadScript, stringLiteral } from '../../src/warp10/warpscript.ts';
import { warp10OrSkip } from '../support/stack.ts';

const SCRIPT = path.resolve(import.meta.dirname, '..', 'support', 'warpscript', 'token-echo.mc2');

/** Every form of `token` a text could hold: raw, URL-encoded, markup-escaped, as a WarpScript literal. */
const forms = (token: string) => [
  token,
  encodeURIComponent(token),
  token.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
  stringLiteral(token).slice(1, -1),
];

/** The longest piece (MIN_ECHOED_PIECE characters or more) of a form of `token` that `text` holds. */
function leak(text: string, token: string): string | undefined {
  let found: string | undefined;
  for (const f of forms(token))
    for (let i = 0; i < f.length; i++)
      for (let j = f.length; j - i >= MIN_ECHOED_PIECE && j - i > (found?.length ?? 0); j--)
        if (text.includes(f.slice(i, j))) found = f.slice(i, j);
  return found;
}

test('secrets: a WarpScript error on the line holding a token literal, and one quoting the token — no form or piece of it in the error or the log line, [REDACTED] in both', async (t) => {
  const w = warp10OrSkip(t);
  if (!w) return;
  const secrets = [w.readToken, w.writeToken];
  const client = new Warp10Client({ url: w.url, secrets });
  const runner = httpRunner(client);
  const out = memoryDestination();
  const log = createLogger({ format: 'json', level: 'info', secrets, destination: out }, {});
  try {
    const cases: [string, Params][] = [
      ['a LONG out of range right after the token literal', { token: w.readToken, big: 2n ** 64n }],
      ['TOLONG of the token', { token: w.readToken }],
    ];
    for (const [name, params] of cases) {
      // Control: what Warp 10 itself answers holds the token (a piece of its literal, or the token).
      const raw = await fetch(`${w.url}/api/v0/exec`, {
        method: 'POST',
        body: bind(loadScript(SCRIPT), params),
      });
      await raw.text();
      const echoed = raw.headers.get('x-warp10-error-message') ?? '';
      assert.ok(leak(echoed, w.readToken), `${name}: Warp 10 echoes the token: ${echoed}`);

      const err = await runner.run(SCRIPT, params).then(
        () => assert.fail(`${name}: the script should fail`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WarpScriptError, String(err));
      log.error({ err, script: err.script }, `${name}: ${err.message}`);
      const line = out.lines().at(-1)!;
      for (const text of [err.message, err.warpMessage, String(err), err.stack ?? '', line]) {
        assert.equal(leak(text, w.readToken), undefined, `${name}: ${text}`);
        assert.ok(text.includes(REDACTED), `${name}: something redacted in ${text}`);
      }
    }
  } finally {
    await client.close();
  }
});
