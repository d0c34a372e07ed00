// npm run stack:up | stack:down | stack:status — the local Temporal dev server and Warp 10 standalone.
import { existsSync } from 'node:fs';
import { STACK_ENV, StackError, dropIncompleteEnvFile, writeEnvFile } from './stack/common.ts';
import { testExtension } from './stack/extension.ts';
import { temporalDown, temporalStatus, temporalUp } from './stack/temporal.ts';
import {
  WARP10_VERSION,
  Warp10Unavailable,
  warp10Down,
  warp10Jar,
  warp10Prepare,
  warp10Status,
  warp10Up,
} from './stack/warp10.ts';

const USAGE = `usage: npm run stack:up [-- --allow-missing-warp10] | stack:down | stack:status | extension:test

  up         obtain (first time) and start Temporal and Warp 10 on 127.0.0.1; writes .data/stack.env
  down       stop both and free their ports
  status     print the state of each server
  extension  run the Warp 10 extension's own tests (JUnit, Maven) against the installed distribution

  --allow-missing-warp10  start Temporal even if no Warp 10 can be had (records WARP10_UNAVAILABLE)
Ports: TEMPORAL_PORT (7233), TEMPORAL_UI_PORT (8233), WARP10_PORT (8080).
A starting Warp 10 is waited for while it makes progress (log, data files, CPU), up to WARP10_START_TIMEOUT
seconds (900); one that shows no progress for 60s, or exits, fails the start with its log's tail.
Warp 10 comes from WARP10_DIST (a warp10-<version>.tar.gz path or URL, or its extracted folder), else the
official ${WARP10_VERSION} release download. An existing Warp 10: WARP10_URL, WARP10_READ_TOKEN, WARP10_WRITE_TOKEN.`;

/** What `up` starts; tests pass fakes. */
export interface UpDeps {
  warp10Prepare: typeof warp10Prepare;
  temporalUp: typeof temporalUp;
  warp10Up: typeof warp10Up;
  envFile: string;
}
const realDeps: UpDeps = { warp10Prepare, temporalUp, warp10Up, envFile: STACK_ENV };

/**
 * Starts both servers and only then writes the env file, whole and atomically. When Warp 10 was expected
 * and could not be had, no env file is written, and one left without the Warp 10 lines is removed.
 */
export async function up(opts: { allowMissingWarp10: boolean }, deps: UpDeps = realDeps): Promise<void> {
  const started = Date.now();
  // A wrong Warp 10 distribution is reported before anything starts.
  const prepared = await deps.warp10Prepare().catch((err: unknown) => err as Error);
  if (prepared instanceof Error && !(prepared instanceof Warp10Unavailable && opts.allowMissingWarp10)) {
    throw prepared;
  }
  const temporal = await deps.temporalUp();
  const vars: Record<string, string> = {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_UI_URL: temporal.uiUrl,
  };
  try {
    const w10 = await deps.warp10Up();
    Object.assign(vars, {
      WARP10_URL: w10.url,
      WARP10_READ_TOKEN: w10.readToken,
      WARP10_WRITE_TOKEN: w10.writeToken,
      // Marks the endpoint as the stack's own, so a shell that sourced this file still gets it restarted.
      WARP10_MANAGED: w10.external ? 'external' : 'local',
    });
  } catch (err) {
    if (!(err instanceof Warp10Unavailable) || !opts.allowMissingWarp10) {
      if (dropIncompleteEnvFile(deps.envFile)) {
        console.warn(`[stack] removed ${deps.envFile}: it had no Warp 10 endpoint`);
      }
      throw err;
    }
    vars.WARP10_UNAVAILABLE = err.message.replace(/\s+/g, ' ').trim().slice(0, 400);
    console.warn(
      `[stack] WARNING: no Warp 10 available; tests that need it will be skipped.\n${err.message}`,
    );
  }
  writeEnvFile(vars, deps.envFile);
  console.log(
    `[stack] ready in ${((Date.now() - started) / 1000).toFixed(1)}s; endpoints in ${deps.envFile}`,
  );
  console.log(`[stack] Temporal Web UI: ${temporal.uiUrl}`);
}

export async function down(): Promise<void> {
  await warp10Down();
  await temporalDown();
}

async function status(): Promise<void> {
  console.log(`temporal: ${await temporalStatus()}`);
  console.log(`warp10:   ${await warp10Status()}`);
  console.log(`env file: ${existsSync(STACK_ENV) ? STACK_ENV : 'missing (run npm run stack:up)'}`);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const unknown = rest.filter((a) => a !== '--allow-missing-warp10');
  if (unknown.length > 0 || !cmd || !['up', 'down', 'status', 'extension'].includes(cmd)) {
    console.error(unknown.length > 0 ? `unknown option: ${unknown.join(' ')}\n${USAGE}` : USAGE);
    return 2;
  }
  try {
    if (cmd === 'up') await up({ allowMissingWarp10: rest.includes('--allow-missing-warp10') });
    else if (cmd === 'down') await down();
    else if (cmd === 'extension') process.stdout.write(testExtension(await warp10Jar()));
    else await status();
    return 0;
  } catch (err) {
    if (err instanceof StackError) {
      console.error(`[stack] ${err.message}`);
      return 1;
    }
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
