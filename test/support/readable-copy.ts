// A copy of source modules that another user can load. A test that runs a child process as nobody
// (uid 65534) cannot have it import from the checkout: under a 0700 directory (what `mktemp -d` makes)
// nobody cannot reach the sources, nor tsx in node_modules. This compiles a module and the local modules
// it imports to plain JavaScript into a directory of the test's choosing, for plain `node` to import.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * Compiles `entry` (a path in the checkout) and every module it imports by a relative path into `dir`,
 * keeping their places relative to the checkout; returns the compiled entry's path. Type-only imports
 * vanish; a package import is refused, since the other user could not load it either. Everything
 * written is readable by all, whatever the umask.
 */
export function readableCopy(entry: string, dir: string): string {
  const target = (file: string) => path.join(dir, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
  const done = new Set<string>();
  const write = (out: string, text: string) => {
    mkdirSync(path.dirname(out), { recursive: true });
    for (let d = path.dirname(out); d.length >= dir.length; d = path.dirname(d)) chmodSync(d, 0o755);
    writeFileSync(out, text);
    chmodSync(out, 0o644);
  };
  const copy = (file: string) => {
    if (done.has(file)) return;
    done.add(file);
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        rewriteRelativeImportExtensions: true,
      },
    });
    write(target(file), outputText);
    for (const { fileName: spec } of ts.preProcessFile(outputText, true, true).importedFiles) {
      if (spec.startsWith('node:')) continue;
      if (!spec.startsWith('.'))
        throw new Error(`${file} imports the package ${spec}: nobody cannot load it`);
      copy(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  };
  const start = path.resolve(entry);
  copy(start);
  write(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  return target(start);
}
