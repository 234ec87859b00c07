#!/usr/bin/env node
// Restores the lockfile entries of platform-specific optional packages (e.g. @swc/core-darwin-arm64)
// that `npm install` drops when the registry it talks to holds only the Linux builds, as this
// project's build machines' registry does. Without them `npm ci` refuses the lockfile
// ("Missing: … from lock file"). Each restored entry carries the `os`/`cpu` its name states, so
// npm skips it on other platforms and fetches it from the public registry on its own.
// Run after every `npm install` that changes dependencies: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const pkgs = lock.packages;

const OS = ['darwin', 'win32', 'linux', 'android', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix', 'wasm32'];
const CPU = {
  x64: 'x64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: 'ia32',
  ppc64: 'ppc64',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  wasm32: 'wasm32',
  universal: null,
};

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  // Some packages spell the platform out (napi-windows-process-start-time, an optional
  // dependency of Vite): npm's own name for it is win32.
  const os = parts.includes('windows') ? 'win32' : parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => p in CPU);
  if (!os && !cpu) return null;
  const entry = {};
  if (os && os !== 'wasm32') entry.os = [os];
  if (cpu && CPU[cpu]) entry.cpu = [CPU[cpu]];
  if (os === 'linux' && parts.includes('musl')) entry.libc = ['musl'];
  if (os === 'linux' && (parts.includes('gnu') || parts.some((p) => p.startsWith('gnueabi')))) entry.libc = ['glibc'];
  return entry;
}

let added = 0;
for (const [path, meta] of Object.entries(pkgs)) {
  for (let [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const nested = `${path ? `${path}/` : ''}node_modules/${dep}`;
    if (pkgs[nested] || pkgs[`node_modules/${dep}`]) continue;
    const platform = platformOf(dep);
    if (!platform) continue; // not a platform build: leave it to npm
    const base = dep.split('/').pop();
    // Most are pinned exactly; a range (^0.1.0) names its lowest version, which npm never
    // fetches on a platform the entry excludes.
    version = version.replace(/^[\^~]/, '');
    pkgs[`node_modules/${dep}`] = {
      version,
      resolved: `https://registry.npmjs.org/${dep}/-/${base}-${version}.tgz`,
      optional: true,
      ...platform,
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(LOCK, JSON.stringify(lock, null, 2) + '\n');
console.log(`complete-lockfile: restored ${added} platform-specific optional entries`);
