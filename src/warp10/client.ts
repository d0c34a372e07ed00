// Warp 10 over HTTP (undici): WarpScript exec, update, check. Used by activities only.
import { Readable } from 'node:stream';
import { Agent, errors as undiciErrors, request } from 'undici';
import type { Dispatcher } from 'undici';
import { redactEcho } from '../config/redact.ts';

/** Base of every Warp 10 failure; `retryable` tells activities whether a retry can help. */
export class Warp10Error extends Error {
  override name = 'Warp10Error';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The script itself failed (syntax, runtime, bad token, limits): retrying the same script cannot help. */
export class WarpScriptError extends Warp10Error {
  override name = 'WarpScriptError';
  constructor(
    readonly script: string,
    readonly line: number | undefined,
    readonly warpMessage: string,
    readonly status: number,
  ) {
    super(
      `WarpScript ${script} failed${line === undefined ? '' : ` at line ${line}`}: ${warpMessage}`,
      false,
    );
  }
}

/** Warp 10 could not be reached or answered without a script error (5xx, refused, timeout): retry later. */
export class Warp10UnavailableError extends Warp10Error {
  override name = 'Warp10UnavailableError';
  constructor(
    message: string,
    readonly kind: 'connect' | 'timeout' | 'http' | 'aborted',
  ) {
    super(message, kind !== 'aborted');
  }
}

/** An HTTP status a retry cannot fix (4xx without a WarpScript error). */
export class Warp10HttpError extends Warp10Error {
  override name = 'Warp10HttpError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message, false);
  }
}

export interface Warp10ClientOptions {
  url: string;
  connectTimeoutMs?: number;
  /** Longest wait for a script to finish (Warp 10 writes headers only once the script is done). */
  requestTimeoutMs?: number;
  /** Longest silence while a reply body streams. */
  bodyIdleTimeoutMs?: number;
  /** Values (tokens) to scrub from any error message. */
  secrets?: string[];
  /** Connections to Warp 10, hence requests in flight (no pipelining); more requests wait their turn. */
  maxConcurrentRequests?: number;
  /** For https with a private CA: the CA certificate(s), PEM. */
  ca?: string | Buffer;
}

export interface ExecStats {
  elapsedNs?: number;
  ops?: number;
  fetched?: number;
}

export interface ExecOptions {
  /** A short name for errors and logs; the script body itself is never logged (it carries tokens). */
  name: string;
  signal?: AbortSignal;
}

function numHeader(h: Dispatcher.ResponseData['headers'], name: string): number | undefined {
  const v = h[name];
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function strHeader(h: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export class Warp10Client {
  readonly url: string;
  private readonly dispatcher: Agent;
  private readonly secrets: string[];

  constructor(opts: Warp10ClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.secrets = opts.secrets ?? [];
    this.dispatcher = new Agent({
      connect: { timeout: opts.connectTimeoutMs ?? 10_000, ...(opts.ca ? { ca: opts.ca } : {}) },
      headersTimeout: opts.requestTimeoutMs ?? 30 * 60_000,
      bodyTimeout: opts.bodyIdleTimeoutMs ?? 5 * 60_000,
      connections: opts.maxConcurrentRequests ?? 8,
    });
  }

  /** Runs a script and parses the JSON stack (top of stack first). */
  async exec<T = unknown[]>(script: string, opts: ExecOptions): Promise<{ stack: T } & ExecStats> {
    const { body, stats } = await this.execStream(script, opts);
    const text = await body.text();
    try {
      return { stack: JSON.parse(text) as T, ...stats };
    } catch {
      throw new Warp10UnavailableError(
        `WarpScript ${opts.name}: Warp 10 returned a reply that is not JSON`,
        'http',
      );
    }
  }

  /** Runs a script and hands back the reply body as a stream, for replies too large to buffer. */
  async execStream(
    script: string | AsyncIterable<string>,
    opts: ExecOptions,
  ): Promise<{ body: Dispatcher.ResponseData['body']; stats: ExecStats }> {
    const res = await this.send(`${this.url}/api/v0/exec`, opts.name, {
      method: 'POST',
      body: script,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      signal: opts.signal,
    });
    const stats: ExecStats = {
      elapsedNs: numHeader(res.headers, 'x-warp10-elapsed'),
      ops: numHeader(res.headers, 'x-warp10-ops'),
      fetched: numHeader(res.headers, 'x-warp10-fetched'),
    };
    const warpMessage = strHeader(res.headers, 'x-warp10-error-message');
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      if (warpMessage !== undefined) {
        const line = numHeader(res.headers, 'x-warp10-error-line');
        throw new WarpScriptError(opts.name, line, this.redact(warpMessage), res.statusCode);
      }
      throw this.statusError(opts.name, res.statusCode, text);
    }
    return { body: res.body, stats };
  }

  /** Ingests points in GTS input format (one `TS/LAT:LON/ELEV class{labels} value` a line). */
  /** An async iterable body is streamed (chunked): a restore sends a batch without holding it. */
  async update(
    writeToken: string,
    lines: string | Uint8Array | AsyncIterable<string | Uint8Array>,
    signal?: AbortSignal,
  ): Promise<void> {
    const res = await this.send(`${this.url}/api/v0/update`, 'update', {
      method: 'POST',
      body: lines,
      headers: { 'x-warp10-token': writeToken, 'content-type': 'text/plain; charset=utf-8' },
      signal,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      const warpMessage = strHeader(res.headers, 'x-warp10-error-message');
      if (warpMessage !== undefined || (res.statusCode >= 400 && res.statusCode < 500)) {
        throw new Warp10HttpError(
          `update refused (HTTP ${res.statusCode}): ${this.redact(warpMessage ?? text)}`,
          res.statusCode,
        );
      }
      throw this.statusError('update', res.statusCode, text);
    }
  }

  async check(signal?: AbortSignal): Promise<boolean> {
    try {
      const res = await this.send(`${this.url}/api/v0/check`, 'check', { method: 'GET', signal });
      await res.body.dump();
      return res.statusCode === 200;
    } catch (err) {
      if (err instanceof Warp10UnavailableError) return false;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async send(
    url: string,
    name: string,
    init: {
      method: 'GET' | 'POST';
      /** An async iterable is streamed (chunked), never held whole in memory. */
      body?: string | Uint8Array | AsyncIterable<string | Uint8Array>;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    },
  ): Promise<Dispatcher.ResponseData> {
    try {
      const body = init.body;
      const streamed = body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array);
      return await request(url, {
        ...init,
        body: streamed ? Readable.from(body) : body,
        dispatcher: this.dispatcher,
      });
    } catch (err) {
      throw this.transportError(name, err);
    }
  }

  private statusError(name: string, status: number, body: string): Warp10Error {
    const detail = this.redact(body.slice(0, 300)).trim();
    const msg = `${name}: Warp 10 answered HTTP ${status}${detail ? `: ${detail}` : ''}`;
    if (status >= 500 || status === 429 || status === 408) return new Warp10UnavailableError(msg, 'http');
    return new Warp10HttpError(msg, status);
  }

  private transportError(name: string, err: unknown): Warp10Error {
    if (err instanceof Warp10Error) return err;
    const e = err as NodeJS.ErrnoException & { name?: string };
    if (e?.name === 'AbortError' || err instanceof undiciErrors.RequestAbortedError) {
      return new Warp10UnavailableError(`${name}: request to Warp 10 aborted`, 'aborted');
    }
    if (
      err instanceof undiciErrors.HeadersTimeoutError ||
      err instanceof undiciErrors.BodyTimeoutError ||
      err instanceof undiciErrors.ConnectTimeoutError
    ) {
      return new Warp10UnavailableError(
        `${name}: Warp 10 at ${this.url} timed out (${e.message})`,
        'timeout',
      );
    }
    const code = e?.code ? ` ${e.code}` : '';
    return new Warp10UnavailableError(
      `${name}: cannot reach Warp 10 at ${this.url} (${this.redact(e?.message ?? String(err))}${code})`,
      'connect',
    );
  }

  /** Warp 10 echoes part of a failing script: a token's WarpScript literal, whole or cut anywhere. */
  private redact(text: string): string {
    return redactEcho(text, this.secrets);
  }
}
