# The offloader's worker image: multi-stage, production dependencies only, non-root, with a health check.
#
#   docker build -t warp10-offloader-worker .
#   docker run --rm -e OFFLOAD_CONFIG=/config/offload.yaml -v $PWD/offload.yaml:/config/offload.yaml:ro \
#     -e WARP10_READ_TOKEN -e WARP10_WRITE_TOKEN -p 127.0.0.1:9464:9464 warp10-offloader-worker
#
# The config's metrics section must be present for the health check (/healthz on metrics.port, 9464 by
# default here); OFFLOADER_METRICS_HOST=0.0.0.0 lets Prometheus scrape it from outside the container.

ARG NODE_IMAGE=node:24-bookworm-slim

# 1. Production dependencies (tsx runs the TypeScript sources; no compiler, linters or test servers).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# 2. The workflow bundle, built once here instead of by webpack at every worker start.
FROM deps AS bundle
COPY tsconfig.json ./
COPY src ./src
COPY scripts/bundle-workflows.ts ./scripts/bundle-workflows.ts
RUN node --import tsx scripts/bundle-workflows.ts /app/dist/workflow-bundle.js

# 3. The runtime: sources, production node_modules, the bundle; runs as the unprivileged `node` user.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    OFFLOADER_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=bundle /app/dist ./dist
COPY package.json tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY config ./config
RUN mkdir -p /app/.data/archive && chown -R node:node /app/.data
USER node
EXPOSE 9464
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.OFFLOADER_METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--import", "tsx", "workers/main.ts"]
