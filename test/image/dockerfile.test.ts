// The worker image, checked by reading (there is no Docker engine here): multi-stage, production
// dependencies only, non-root, a health check on the metrics endpoint, every COPY source present, and
// the compose file's worker built from it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const lines = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe('worker image (Dockerfile)', () => {
  test('multi-stage, production dependencies, non-root, health check', () => {
    const stages = lines.filter((l) => /^FROM /i.test(l));
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.ok(
      lines.some((l) => /npm ci --omit=dev/.test(l)),
      'npm ci --omit=dev',
    );
    const user = lines.filter((l) => /^USER /.test(l)).at(-1);
    assert.ok(user && !/root|^USER 0/.test(user), `runs as a non-root user (${user})`);
    assert.ok(
      lines.some((l) => /^HEALTHCHECK .*\/healthz/.test(l)),
      'health check on /healthz',
    );
    assert.match(lines.at(-1) ?? '', /^CMD \["node", "--import", "tsx", "workers\/main.ts"\]$/);
  });

  test('runs a Node.js LTS still supported (22 or 24; Node 20 reached its end of life)', () => {
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    assert.match(image ?? '', /^node:(22|24)-bookworm-slim$/);
    assert.ok(
      lines
        .filter((l) => /^FROM /i.test(l))
        .every((l) => /^FROM (\$\{NODE_IMAGE\}|deps)( AS \w+)?$/i.test(l)),
      'every stage runs on that image',
    );
  });

  test('every COPY from the build context exists, and .dockerignore keeps secrets and data out', () => {
    for (const l of lines.filter((x) => /^COPY /.test(x) && !/--from=/.test(x))) {
      const parts = l.split(/\s+/).slice(1);
      for (const src of parts.slice(0, -1)) {
        assert.ok(existsSync(path.join(ROOT, src)), `COPY source ${src} exists`);
      }
    }
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', '.data', '.env', '.git'])
      assert.ok(ignore.includes(p), `.dockerignore: ${p}`);
  });

  test('the compose file builds the worker from it and checks its health; Warp 10 stays the official image', () => {
    const compose = YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { build?: { dockerfile?: string }; image?: string; healthcheck?: unknown }>;
    };
    assert.equal(compose.services.worker?.build?.dockerfile, 'Dockerfile');
    assert.ok(compose.services.worker?.healthcheck);
    // The official image with the ARCHIVE.FETCH extension on top (checked in compose-warp10.test.ts).
    const warp10Dockerfile = path.join(ROOT, compose.services.warp10?.build?.dockerfile ?? 'missing');
    assert.match(readFileSync(warp10Dockerfile, 'utf8'), /^FROM warp10io\/warp10:\$\{WARP10_VERSION\}$/m);
  });
});
