// Runs a named WarpScript (.mc2) with bound parameters. The one seam between activities and Warp 10.
import { Warp10UnavailableError, WarpScriptError, type Warp10Client } from './client.ts';
import { TIME_UNITS_GUARD } from './time-units.ts';
import { NAME, PROLOGUE_LINES, bind, loadScript, stringLiteral, type WarpScriptValue } from './warpscript.ts';

export type Params = Record<string, WarpScriptValue>;

export interface WarpScriptRunner {
  /** Runs and parses the whole JSON stack. */
  run<T = unknown[]>(script: string, params: Params, signal?: AbortSignal): Promise<T>;
  /** Runs and streams the reply body (for exports too large to buffer). */
  stream(script: string, params: Params, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
}

/**
 * Data fed to a script after its body, one WarpScript line per item: `<item as a string literal> @macro`,
 * then `@end`. Each item is bound like a parameter (an inert literal), never pasted as code; Warp 10
 * executes the body line by line as it arrives, so neither side holds the whole feed.
 */
export interface LineFeed {
  items: AsyncIterable<string>;
  /** The macro (a variable the script STOREd) called with each item on the stack. */
  macro: string;
  /** The macro called once after the last item; its stack is the reply. */
  end: string;
}

export interface FeedingRunner extends WarpScriptRunner {
  /** Runs `script` with `params`, then feeds it `feed`; parses the whole JSON stack. */
  runFed<T = unknown[]>(script: string, params: Params, feed: LineFeed, signal?: AbortSignal): Promise<T>;
}

async function* fedBody(head: string, feed: LineFeed): AsyncGenerator<string> {
  if (!NAME.test(feed.macro) || !NAME.test(feed.end)) throw new TypeError('invalid macro name in a feed');
  yield head.endsWith('\n') ? head : `${head}\n`;
  let chunk = '';
  for await (const item of feed.items) {
    chunk += `${stringLiteral(item)} @${feed.macro}\n`;
    if (chunk.length >= 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}@${feed.end}\n`;
}

/**
 * A script with its parameters bound, behind the time-units guard (src/warp10/time-units.ts): on the first
 * line, so Warp 10's error lines keep the .mc2 file's numbering; it fails the request before the script
 * reads or deletes anything when the instance does not count microseconds.
 */
const guarded = (script: string, params: Params) => `${TIME_UNITS_GUARD} ${bind(loadScript(script), params)}`;

/** `script` is a bundled script name (archive-read) or a path to a custom .mc2 template. */
export function httpRunner(client: Warp10Client): FeedingRunner {
  const name = (script: string) => `${script.replace(/^.*\//, '').replace(/\.mc2$/, '')}.mc2`;
  // Error lines are reported in the .mc2 file's own numbering, not the bound script's.
  const inFile = (err: unknown) =>
    err instanceof WarpScriptError && err.line !== undefined && err.line > PROLOGUE_LINES
      ? new WarpScriptError(err.script, err.line - PROLOGUE_LINES, err.warpMessage, err.status)
      : err;
  return {
    async run<T>(script: string, params: Params, signal?: AbortSignal) {
      try {
        const { stack } = await client.exec<T>(guarded(script, params), {
          name: name(script),
          signal,
        });
        return stack;
      } catch (err) {
        throw inFile(err);
      }
    },
    async runFed<T>(script: string, params: Params, feed: LineFeed, signal?: AbortSignal) {
      const scriptName = name(script);
      try {
        const { body } = await client.execStream(fedBody(guarded(script, params), feed), {
          name: scriptName,
          signal,
        });
        const text = await body.text();
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new Warp10UnavailableError(
            `WarpScript ${scriptName}: Warp 10 returned a reply that is not JSON`,
            'http',
          );
        }
      } catch (err) {
        throw inFile(err);
      }
    },
    async stream(script, params, signal) {
      try {
        const { body } = await client.execStream(guarded(script, params), {
          name: name(script),
          signal,
        });
        return body;
      } catch (err) {
        throw inFile(err);
      }
    },
  };
}
