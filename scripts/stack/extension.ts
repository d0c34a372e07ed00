// The project's Warp 10 extension (ARCHIVE.FETCH, warp10-extension/): built with Maven against the jar of
// the Warp 10 distribution the stack installs, and loaded into the stack's Warp 10 with the local
// defaults' archive store. Rebuilt only when its sources are newer than its jar.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT, StackError, run } from './common.ts';

export const EXTENSION_DIR = path.join(ROOT, 'warp10-extension');
export const EXTENSION_JAR = path.join(EXTENSION_DIR, 'target', 'warp10-archive-fetch-0.1.0.jar');
/** The class Warp 10 loads (`warpscript.extension.archivefetch`). */
export const EXTENSION_CLASS = 'offloader.archive.ArchiveFetchExtension';
/** The local defaults' store (config/local.yaml `store.path`), which ARCHIVE.FETCH reads. */
export const LOCAL_ARCHIVE = path.join(ROOT, '.data', 'archive');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function mvn(warp10Jar: string, goals: string[], what: string): string {
  try {
    return run(
      'mvn',
      ['-q', '-B', `-Dwarp10.jar=${warp10Jar}`, '-f', path.join(EXTENSION_DIR, 'pom.xml'), ...goals],
      what,
    );
  } catch (err) {
    if (err instanceof StackError && /could not run mvn/.test(err.message)) {
      throw new StackError(
        `${what}: Maven is needed to build the Warp 10 extension (Debian: apt-get install maven; Java 17).`,
      );
    }
    throw err;
  }
}

/** The extension's jar, built against `warp10Jar` when missing or older than its sources. */
export function buildExtension(warp10Jar: string): string {
  const sources = Math.max(
    newest(path.join(EXTENSION_DIR, 'src', 'main')),
    statSync(path.join(EXTENSION_DIR, 'pom.xml')).mtimeMs,
  );
  if (existsSync(EXTENSION_JAR) && statSync(EXTENSION_JAR).mtimeMs >= sources) return EXTENSION_JAR;
  console.log('[stack] building the Warp 10 extension (ARCHIVE.FETCH) with Maven');
  mvn(warp10Jar, ['-DskipTests', 'package'], 'building the Warp 10 extension');
  return EXTENSION_JAR;
}

/** Its own tests (JUnit, against the same jar); their summary lines. */
export function testExtension(warp10Jar: string): string {
  mvn(warp10Jar, ['test'], 'testing the Warp 10 extension');
  const reports = path.join(EXTENSION_DIR, 'target', 'surefire-reports');
  const lines = readdirSync(reports)
    .filter((f) => f.endsWith('.txt'))
    .flatMap((f) => readFileSync(path.join(reports, f), 'utf8').split('\n'))
    .filter((l) => l.startsWith('Tests run:'));
  if (lines.length === 0) throw new StackError('the Warp 10 extension ran no test');
  return `${lines.join('\n')}\n`;
}
