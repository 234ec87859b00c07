# Chat backend image. Two stages: `build` compiles TypeScript with dev dependencies, the
# runtime stage keeps only production node_modules and the compiled output.
# Node >= 20.19 is required: NestJS 12 packages are ESM loaded through require(esm).

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Prisma's CLI must not phone home during the build (update check / telemetry).
ENV CHECKPOINT_DISABLE=1

# Manifests first so the dependency layer is cached until they change. The workspace packages'
# manifests too: npm ci links them into node_modules (@chat-backend/protocol is a runtime
# dependency of the server; `npm run build` compiles them first).
COPY package.json package-lock.json ./
COPY packages/protocol/package.json ./packages/protocol/
COPY packages/client/package.json ./packages/client/
# --ignore-scripts: the image's bundled npm (10.x) would otherwise run dependency install
# scripts, e.g. @prisma/engines' postinstall, which downloads native engines we don't use
# (migrations go through prisma/schema-engine-shim.mjs). `npm run build` generates the client.
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY . .
# The Prisma CLI spawns the shim directly, so it needs its exec bit even if the checkout lost it;
# prisma.config.ts cannot fix it at runtime because the app runs as a non-root user.
RUN chmod 755 prisma/schema-engine-shim.mjs \
 && npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
# MALLOC_ARENA_MAX: glibc gives each thread that mallocs an arena of its own; the server has
# a dozen (the persistence thread, V8's helpers, libuv's pool) and two are enough for it:
# less memory under load for the same CPU (README, Performance).
ENV NODE_ENV=production \
    PORT=3000 \
    CHECKPOINT_DISABLE=1 \
    MALLOC_ARENA_MAX=2

# Files stay root-owned: the app user can read but not modify its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/prisma.config.ts ./prisma.config.ts
# prisma/: schema + migrations for `prisma migrate deploy`, and the schema-engine shim.
COPY --from=build /app/prisma ./prisma
# Production deps only; includes the prisma CLI (a production dependency) for db-prepare.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# node_modules/@chat-backend/* are links into packages/: the server imports the protocol's build.
COPY --from=build /app/packages ./packages

USER node
EXPOSE 3000

# Node's built-in fetch: the slim image has no curl/wget. start-period covers migrations.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# db-prepare waits for Postgres and Redis, creates the database if missing and runs
# `prisma migrate deploy`; `exec` then makes node PID 1 so it receives SIGTERM directly.
CMD ["sh", "-c", "node dist/src/cli/db-prepare.js && exec node dist/src/main.js"]
