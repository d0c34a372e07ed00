// A loopback HTTP proxy in front of the real Warp 10 that can fail on demand: answer 503, hang, or stop
// listening (connection refused) — to test retries against the real server without stopping it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = { kind: '503' } | { kind: 'hang'; ms: number };

export class FaultProxy {
  private server?: http.Server;
  private faults: Fault[] = [];
  port = 0;
  /** Requests seen (including failed ones). */
  requests = 0;

  constructor(private readonly target: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next `n` requests fail this way, then requests pass through again. */
  failNext(n: number, fault: Fault): void {
    for (let i = 0; i < n; i++) this.faults.push(fault);
  }

  async start(): Promise<void> {
    const target = new URL(this.target);
    this.server = http.createServer((req, res) => {
      this.requests++;
      const fault = this.faults.shift();
      if (fault?.kind === '503') {
        req.resume();
        res.writeHead(503).end('Service Unavailable');
        return;
      }
      const forward = () => {
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
            upRes.pipe(res);
          },
        );
        up.on('error', () => res.destroy());
        req.pipe(up);
      };
      if (fault?.kind === 'hang') setTimeout(forward, fault.ms);
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
