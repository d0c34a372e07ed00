// Tokens minted by Warp 10's own TokenGen with the local stack's keys: what a test needs beyond the token
// file's (expired ones, other owners and producers). Undefined for a Warp 10 the stack did not install:
// its keys are not ours.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EXTENSION_JAR } from '../../scripts/stack/extension.ts';
import { tempDir } from './config.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Runs `script` (WarpScript ending in TOKENGEN) in TokenGen; the top of its stack, parsed. */
export function tokenGen(script: string): unknown {
  if (process.env.WARP10_MANAGED !== 'local') return undefined;
  const tools = path.join(ROOT, '.tools', 'warp10');
  const jar = existsSync(tools)
    ? readdirSync(tools)
        .map((d) => path.join(tools, d, 'warp10-3.5.0', 'lib', 'warp10-3.5.0.jar'))
        .find((j) => existsSync(j))
    : undefined;
  const conf = path.join(ROOT, '.data', 'warp10', 'conf', '99-local.conf');
  if (!jar || !existsSync(conf)) return undefined;
  const envelope = path.join(tempDir('tokengen'), 'tokens.mc2');
  writeFileSync(envelope, script);
  const out = execFileSync(
    'java',
    [
      '-Dfile.encoding=UTF-8',
      '-cp',
      // The stack's configuration loads ARCHIVE.FETCH: TokenGen needs its class too.
      [jar, EXTENSION_JAR].join(path.delimiter),
      'io.warp10.TokenGen',
      path.join(ROOT, 'scripts', 'warp10', 'standalone.conf'),
      conf,
      envelope,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return (JSON.parse(out.slice(out.indexOf('['))) as unknown[])[0];
}
