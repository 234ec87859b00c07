import 'dotenv/config';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'prisma/config';

// Prisma 7's CLI downloads a native schema-engine binary on first use, which machines without
// internet access (CI, air-gapped build hosts, this project's dev boxes) cannot do. Point it at
// prisma/schema-engine-shim.mjs instead: it runs Prisma's own WASM schema engine
// (@prisma/schema-engine-wasm) over @prisma/adapter-pg. Setting the variable also stops
// `prisma generate` from attempting the download.
const shim = path.join(__dirname, 'prisma', 'schema-engine-shim.mjs');
try {
  chmodSync(shim, 0o755); // the CLI spawns it directly; git may have lost the mode bit
} catch {
  /* read-only file system (e.g. a container image): the mode is already right there */
}
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= shim;
process.env.CHECKPOINT_DISABLE ??= '1'; // no update/telemetry check (no network)

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    // Same default as the server (src/config): a fresh clone migrates with no .env at all.
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/chat',
  },
});
