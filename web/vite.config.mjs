// Builds the web client into dist/web, which the server serves at `/` (src/web/serve-web.ts).
// No inline scripts or styles in the output, so the page works under a strict CSP.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      '^/(auth|users|chatrooms|chat-history|inbox|messages|admin|health|socket\\.io)': {
        target: 'http://127.0.0.1:3000',
        ws: true,
      },
    },
  },
});
