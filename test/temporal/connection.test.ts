// Production connections, as far as this machine allows: the options built for TLS, mTLS, an API key
// and Temporal's environment-configuration profiles; clear errors for bad files; and real TLS
// handshakes against local endpoints (a private CA, a client certificate the server demands) from the
// Temporal worker's native connection and from the Warp 10 client.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError } from '../../src/config/load.ts';
import { temporalSchema } from '../../src/config/schema.ts';
import { resolveTemporal } from '../../src/temporal/connection.ts';
import { Warp10Client } from '../../src/warp10/client.ts';
import { tempDir } from '../support/config.ts';

let dir: string;
const f = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });

/** A private CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by it. */
function makePki(): void {
  dir = tempDir('pki');
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=offloader-test-ca',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
    );
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.pem`),
    );
  }
}

before(() => makePki());

const temporal = (raw: Record<string, unknown>) => temporalSchema.parse(raw);

describe('Temporal connection options', () => {
  test('plain by default; tls: true for a public CA; files for a private CA and mTLS', () => {
    assert.deepEqual(resolveTemporal(temporal({}), {}).connection, { address: '127.0.0.1:7233' });
    assert.equal(resolveTemporal(temporal({ tls: true }), {}).connection.tls, true);
    const r = resolveTemporal(
      temporal({
        address: 'temporal.internal:7233',
        tls: {
          caFile: f('ca.pem'),
          certFile: f('client.pem'),
          keyFile: f('client.key'),
          serverName: 'temporal',
        },
      }),
      {},
    );
    const t = r.connection.tls;
    assert.ok(t && typeof t === 'object');
    assert.deepEqual(t.serverRootCACertificate, readFileSync(f('ca.pem')));
    assert.deepEqual(t.clientCertPair?.crt, readFileSync(f('client.pem')));
    assert.equal(t.serverNameOverride, 'temporal');
  });

  test('an API key (Temporal Cloud) is a secret reference, implies TLS, and is listed for redaction', () => {
    process.env.OFFLOADER_TEST_API_KEY = 'cloud-key-123';
    const r = resolveTemporal(
      temporal({
        address: 'ns.acct.tmprl.cloud:7233',
        namespace: 'ns.acct',
        apiKey: { env: 'OFFLOADER_TEST_API_KEY' },
      }),
    );
    assert.deepEqual(r.connection, {
      address: 'ns.acct.tmprl.cloud:7233',
      apiKey: 'cloud-key-123',
      tls: true,
    });
    assert.deepEqual(r.secrets, ['cloud-key-123']);
    assert.throws(() => temporalSchema.parse({ apiKey: 'cloud-key-123' }), /tokens must not be written/);
  });

  test('mTLS needs both files; unreadable files are named with the fix', () => {
    const bad = temporalSchema.safeParse({ tls: { certFile: f('client.pem') } });
    assert.equal(bad.success, false);
    assert.match(JSON.stringify(bad.error?.issues), /expected certFile and keyFile together/);
    assert.throws(
      () => resolveTemporal(temporal({ tls: { caFile: f('missing.pem') } }), {}),
      (e: unknown) =>
        e instanceof ConfigError &&
        /^temporal\.tls\.caFile: expected a readable PEM file, found ".*missing\.pem", which does not exist; fix the path/.test(
          e.message,
        ),
    );
  });

  test("a profile of Temporal's environment configuration (TOML file and TEMPORAL_* variables)", () => {
    const toml = f('temporal.toml');
    writeFileSync(
      toml,
      [
        '[profile.prod]',
        'address = "prod.example:7233"',
        'namespace = "offload-prod"',
        'api_key = "profile-key"',
        '[profile.prod.tls]',
        `server_ca_cert_path = "${f('ca.pem')}"`,
        '',
      ].join('\n'),
    );
    const r = resolveTemporal(temporal({ profile: 'prod' }), { TEMPORAL_CONFIG_FILE: toml });
    assert.equal(r.connection.address, 'prod.example:7233');
    assert.equal(r.namespace, 'offload-prod');
    assert.equal(r.connection.apiKey, 'profile-key');
    assert.deepEqual(r.secrets, ['profile-key']);
    const t = r.connection.tls;
    assert.ok(t && typeof t === 'object');
    assert.deepEqual(Buffer.from(t.serverRootCACertificate ?? []), readFileSync(f('ca.pem')));
    // The environment overrides the file, as the Temporal CLI does.
    const e = resolveTemporal(temporal({ profile: 'prod' }), {
      TEMPORAL_CONFIG_FILE: toml,
      TEMPORAL_NAMESPACE: 'from-env',
    });
    assert.equal(e.namespace, 'from-env');
    assert.throws(
      () => resolveTemporal(temporal({ profile: 'nope' }), { TEMPORAL_CONFIG_FILE: toml }),
      /temporal\.profile: expected a profile/,
    );
  });
});

describe('TLS handshakes against local endpoints', () => {
  let server: tls.Server;
  let port: number;
  const handshakes: { authorized: boolean; cn?: string }[] = [];
  before(async () => {
    // Demands a client certificate signed by the CA (mTLS), as a Temporal frontend with mTLS does.
    server = tls.createServer(
      {
        key: readFileSync(f('server.key')),
        cert: readFileSync(f('server.pem')),
        ca: readFileSync(f('ca.pem')),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['h2'],
      },
      (socket) => {
        const peer = socket.getPeerCertificate();
        handshakes.push({ authorized: socket.authorized, cn: String(peer.subject?.CN) });
        socket.destroy();
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server?.close());

  test("the worker's native connection completes an mTLS handshake with the configured files", async () => {
    const { connection } = resolveTemporal(
      temporal({
        address: `127.0.0.1:${port}`,
        tls: {
          caFile: f('ca.pem'),
          certFile: f('client.pem'),
          keyFile: f('client.key'),
          serverName: 'localhost',
        },
      }),
      {},
    );
    // The endpoint is not a Temporal server: the connection fails after the handshake, which is
    // what this test checks.
    const attempt = NativeConnection.connect(connection).then(
      async (c) => {
        await c.close();
        return 'connected';
      },
      () => 'refused after the handshake',
    );
    const deadline = Date.now() + 20_000;
    while (!handshakes.some((h) => h.authorized) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    void attempt;
    assert.ok(
      handshakes.some((h) => h.authorized && h.cn === 'client'),
      `the server saw an authorized client certificate: ${JSON.stringify(handshakes)}`,
    );
  });

  test('Warp 10 over https with a private CA: trusted with warp10.caFile, refused without', async () => {
    const w10 = https.createServer(
      { key: readFileSync(f('server.key')), cert: readFileSync(f('server.pem')) },
      (req, res) => {
        res.writeHead(req.url === '/api/v0/check' ? 200 : 404).end();
      },
    );
    await new Promise<void>((r) => w10.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(w10.address() as AddressInfo).port}`;
    try {
      const trusted = new Warp10Client({ url, ca: readFileSync(f('ca.pem')) });
      assert.equal(await trusted.check(), true);
      await trusted.close();
      const untrusted = new Warp10Client({ url, connectTimeoutMs: 2_000 });
      assert.equal(await untrusted.check().catch(() => false), false, 'an unknown CA is refused');
      await untrusted.close();
    } finally {
      w10.close();
    }
  });
});
