// A loopback HTTP proxy in front of a real server (Warp 10, the S3 fake) that can fail on demand: answer
// an HTTP error, hang, cut the reply mid-body, slow every request, or stop listening (connection
// refused) — to test retries against the real server without stopping it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: '503' }
  | { kind: 'status'; status: number }
  | { kind: 'hang'; ms: number }
  /** Forwards the request, sends the reply's headers and its first bytes, then drops the connection. */
  | { kind: 'cut' };

/** Which requests a fault applies to (others pass through and do not use it up). */
export type Match = (req: http.IncomingMessage) => boolean;

export class FaultProxy {
  private server?: http.Server;
  private faults: { fault: Fault; match?: Match }[] = [];
  private always?: { fault: Fault; match?: Match };
  /** Every request waits this long before it is forwarded (to make a phase last). */
  delayMs = 0;
  port = 0;
  /** Requests seen (including failed ones). */
  requests = 0;
  /** Requests that got a fault. */
  faulted = 0;

  constructor(private readonly target: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next `n` (matching) requests fail this way, then requests pass through again. */
  failNext(n: number, fault: Fault, match?: Match): void {
    for (let i = 0; i < n; i++) this.faults.push({ fault, match });
  }

  /** Every (matching) request fails this way until heal(). */
  failAll(fault: Fault, match?: Match): void {
    this.always = { fault, match };
  }

  heal(): void {
    this.always = undefined;
    this.faults = [];
  }

  private take(req: http.IncomingMessage): Fault | undefined {
    if (this.always && (!this.always.match || this.always.match(req))) return this.always.fault;
    const i = this.faults.findIndex((f) => !f.match || f.match(req));
    if (i < 0) return undefined;
    return this.faults.splice(i, 1)[0]?.fault;
  }

  async start(): Promise<void> {
    const target = new URL(this.target);
    this.server = http.createServer((req, res) => {
      this.requests++;
      const fault = this.take(req);
      if (fault) this.faulted++;
      if (fault?.kind === '503' || fault?.kind === 'status') {
        req.resume();
        const status = fault.kind === '503' ? 503 : fault.status;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(http.STATUS_CODES[status] ?? 'error');
        return;
      }
      // A client that gave up on a hung request must not see it (or its side effects) arrive later.
      let gone = false;
      res.on('close', () => (gone = true));
      const forward = () => {
        if (gone) return;
        const up = http.request(
          {
            host: target.hostname,
            port: target.port,
            path: req.url,
            method: req.method,
            headers: req.headers,
          },
          (upRes) => {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            if (fault?.kind !== 'cut') {
              // Warp 10 dying mid-reply drops the client's connection too, as it would without the proxy
              // (pipe alone leaves the client waiting for the rest until its body timeout, 5 minutes).
              upRes.once('close', () => {
                if (!upRes.complete) res.destroy();
              });
              upRes.pipe(res);
              return;
            }
            upRes.once('end', () => res.destroy()); // no body to cut: drop the connection anyway
            upRes.once('data', (chunk: Buffer) => {
              res.write(chunk.subarray(0, Math.max(1, Math.floor(chunk.length / 2))));
              upRes.destroy();
              // Let the partial body reach the client before the connection drops.
              setTimeout(() => res.destroy(), 50);
            });
          },
        );
        up.on('error', () => res.destroy());
        req.pipe(up);
      };
      const wait = (fault?.kind === 'hang' ? fault.ms : 0) + this.delayMs;
      if (wait > 0) setTimeout(forward, wait);
      else forward();
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops listening: new connections are refused until start() again (same port). */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}
