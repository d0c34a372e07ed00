// The worker's metrics endpoint: one scrape target on `metrics.host:metrics.port` serving
//   GET /metrics  the offloader's metrics (prom-client) followed by the Temporal SDK's own metrics,
//                 which the SDK runtime's Prometheus exporter serves on an internal loopback port
//                 (metric names never collide: the SDK's start with temporal_);
//   GET /healthz  200 while the worker runs (the container health check), 503 otherwise.
import http from 'node:http';
import net from 'node:net';
import type { OffloaderMetrics } from './metrics.ts';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** A free TCP port on `host` for the SDK's exporter (the Rust exporter cannot report a port 0 choice). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function sdkMetrics(url: string | undefined): Promise<string> {
  if (!url) return '';
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return res.ok ? await res.text() : `# Temporal SDK metrics unavailable: HTTP ${res.status}\n`;
  } catch (err) {
    return `# Temporal SDK metrics unavailable: ${(err as Error).message}\n`;
  }
}

export async function serveMetrics(opts: {
  host: string;
  port: number;
  metrics: OffloaderMetrics;
  /** The SDK exporter's URL (http://127.0.0.1:PORT/metrics), when the runtime has one. */
  sdkUrl?: string;
  healthy?: () => boolean;
}): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (path === '/metrics') {
      Promise.all([opts.metrics.text(), sdkMetrics(opts.sdkUrl)]).then(
        ([own, sdk]) => {
          res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
          res.end(`${own}\n${sdk}`);
        },
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (path === '/healthz') {
      const ok = opts.healthy?.() ?? true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not running\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
