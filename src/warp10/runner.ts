// Runs a named WarpScript (.mc2) with bound parameters. The one seam between activities and Warp 10.
import { WarpScriptError, type Warp10Client } from './client.ts';
import { PROLOGUE_LINES, bind, loadScript, type WarpScriptValue } from './warpscript.ts';

export type Params = Record<string, WarpScriptValue>;

export interface WarpScriptRunner {
  /** Runs and parses the whole JSON stack. */
  run<T = unknown[]>(script: string, params: Params, signal?: AbortSignal): Promise<T>;
  /** Runs and streams the reply body (for exports too large to buffer). */
  stream(script: string, params: Params, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
}

/** `script` is a bundled script name (archive-read) or a path to a custom .mc2 template. */
export function httpRunner(client: Warp10Client): WarpScriptRunner {
  const name = (script: string) => `${script.replace(/^.*\//, '').replace(/\.mc2$/, '')}.mc2`;
  // Error lines are reported in the .mc2 file's own numbering, not the bound script's.
  const inFile = (err: unknown) =>
    err instanceof WarpScriptError && err.line !== undefined && err.line > PROLOGUE_LINES
      ? new WarpScriptError(err.script, err.line - PROLOGUE_LINES, err.warpMessage, err.status)
      : err;
  return {
    async run<T>(script: string, params: Params, signal?: AbortSignal) {
      try {
        const { stack } = await client.exec<T>(bind(loadScript(script), params), {
          name: name(script),
          signal,
        });
        return stack;
      } catch (err) {
        throw inFile(err);
      }
    },
    async stream(script, params, signal) {
      try {
        const { body } = await client.execStream(bind(loadScript(script), params), {
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
