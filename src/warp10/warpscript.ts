// Safe parameter binding for WarpScript. Values are never pasted into code: each one becomes a literal
// made only of inert characters and is STOREd under its name by a generated prologue, so a .mc2 file
// reads its inputs as `$name`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type WarpScriptValue =
  string | number | bigint | boolean | null | WarpScriptValue[] | { [key: string]: WarpScriptValue };

export const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A WarpScript string literal. WarpScript percent-decodes quoted strings that contain '%', so
 * every byte outside [A-Za-z0-9] is written as %XX: the literal holds no quote, space, brace or
 * keyword boundary whatever the input, and decodes back to exactly the input.
 */
export function stringLiteral(value: string): string {
  let out = "'";
  for (const byte of Buffer.from(value, 'utf8')) {
    const isAlnum =
      (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
    out += isAlnum ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  // An empty literal never contains '%', which is fine: '' is the empty string.
  return `${out}'`;
}

/**
 * Stack slots a list or map literal takes at once. A literal pushes every item before its closing mark
 * builds it, and Warp 10 refuses a stack deeper than `warpscript.maxdepth` (1000 by default; a batch
 * names thousands of selectors): longer literals are built in pieces, each APPENDed to the first as soon
 * as it is built, so the stack stays under ~200 slots per nesting level whatever the length.
 */
export const LITERAL_CHUNK = 200;

function chunked(items: string[], open: string, close: string, slotsPerItem: number): string {
  const per = Math.max(1, Math.floor(LITERAL_CHUNK / slotsPerItem));
  if (items.length === 0) return `${open} ${close}`;
  if (items.length <= per) return `${open} ${items.join(' ')} ${close}`;
  const pieces: string[] = [];
  for (let i = 0; i < items.length; i += per) {
    pieces.push(`${open} ${items.slice(i, i + per).join(' ')} ${close}${i === 0 ? '' : ' APPEND'}`);
  }
  return pieces.join(' ');
}

export function literal(value: WarpScriptValue): string {
  if (value === null) return 'NULL';
  switch (typeof value) {
    case 'string':
      return stringLiteral(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`cannot bind a non-finite number (${value}) to WarpScript`);
      // Integers stay LONGs; a DOUBLE is only bound in plain decimal form, which WarpScript parses as such.
      if (Number.isInteger(value)) {
        if (!Number.isSafeInteger(value))
          throw new TypeError(`integer ${value} is not exact; pass it as a bigint`);
        return String(value);
      }
      if (!/^-?\d+\.\d+$/.test(String(value)))
        throw new TypeError(`cannot bind ${value} exactly to WarpScript`);
      return String(value);
    case 'object':
      if (Array.isArray(value)) return chunked(value.map(literal), '[', ']', 1);
      return chunked(
        Object.entries(value).map(([k, v]) => `${stringLiteral(k)} ${literal(v)}`),
        '{',
        '}',
        2,
      );
    default:
      throw new TypeError(`cannot bind a ${typeof value} to WarpScript`);
  }
}

/** Lines that bind() puts before the body: Warp 10's error line numbers are shifted by this much. */
export const PROLOGUE_LINES = 1;

/** Prepends one line of `<literal> 'name' STORE` (one per parameter) to the script body. */
export function bind(body: string, params: Record<string, WarpScriptValue>): string {
  const prologue = Object.entries(params).map(([name, value]) => {
    if (!NAME.test(name)) throw new TypeError(`invalid WarpScript parameter name: ${JSON.stringify(name)}`);
    return `${literal(value)} '${name}' STORE`;
  });
  return `${prologue.join(' ')}\n${body}`;
}

const SCRIPTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'scripts');
const cache = new Map<string, string>();

/** Loads a WarpScript file: a bundled script by name (`archive-export`) or a custom template by path. */
export function loadScript(nameOrPath: string): string {
  const file = nameOrPath.endsWith('.mc2')
    ? path.resolve(nameOrPath)
    : path.join(SCRIPTS_DIR, `${nameOrPath}.mc2`);
  let body = cache.get(file);
  if (body === undefined) {
    body = readFileSync(file, 'utf8');
    cache.set(file, body);
  }
  return body;
}
