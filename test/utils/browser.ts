import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { WEB_ROOT } from '../../src/web/serve-web';

/** Debian's Chromium (`apt-get install chromium`); .ci/run installs it when missing. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts');

/** Quiet, deterministic flags: no GPU, no sandbox (containers), no background traffic. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface TestBrowser {
  /** A fresh browser profile (its own Chromium, own mkdtemp user-data-dir): one user. */
  newUser(opts?: { viewport?: { width: number; height: number } }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/** Fails early with the fix when the web client was not built or Chromium is missing. */
export function assertBrowserPrerequisites(): void {
  if (!existsSync(path.join(WEB_ROOT, 'index.html'))) {
    throw new Error(`no web client build in ${WEB_ROOT}: run npm run build:web (npm run build:all does it)`);
  }
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
}

export function launchBrowsers(): TestBrowser {
  const open: { context: BrowserContext; dir: string }[] = [];
  return {
    async newUser(opts = {}) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-web-e2e-'));
      const context = await chromium.launchPersistentContext(dir, {
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: ARGS,
        viewport: opts.viewport ?? { width: 1100, height: 720 },
        timeout: 60_000,
      });
      context.setDefaultTimeout(20_000);
      open.push({ context, dir });
      const page = context.pages()[0] ?? (await context.newPage());
      return { context, page };
    },
    async close() {
      for (const { context, dir } of open.splice(0)) {
        await context.close().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export type { Browser, BrowserContext, Page };

/** Saves a screenshot under test/artifacts (git-ignored) and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** How long a DOM expectation may take to come true (a loaded 2-core machine). */
export const UI_TIMEOUT_MS = 30_000;

/** Polls `fn` until it returns true; on timeout fails with `what` and the last value seen. */
export async function until(fn: () => Promise<unknown>, what: string, timeoutMs = UI_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last === true) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The few web-first assertions these tests need (playwright-core has no `expect`): each waits
 * for the DOM to reach the state instead of checking once.
 */
export function ui(loc: Locator, timeoutMs = UI_TIMEOUT_MS) {
  const text = async () => ((await loc.count()) ? ((await loc.first().textContent()) ?? '').trim() : '<none>');
  const check = (pred: () => Promise<boolean>, what: string) =>
    until(async () => (await pred()) || `${what}; now: "${await text()}"`, `${loc.toString()} ${what}`, timeoutMs);
  return {
    toHaveText: (s: string) => check(async () => (await text()) === s, `has text "${s}"`),
    toContainText: (s: string) =>
      check(async () => (await loc.allTextContents()).some((x) => x.includes(s)), `contains "${s}"`),
    toHaveCount: (n: number) =>
      until(
        async () => (await loc.count()) === n || `count ${await loc.count()}`,
        `${loc.toString()} count is ${n}`,
        timeoutMs,
      ),
    toBeVisible: () => check(() => loc.first().isVisible(), 'is visible'),
    toBeHidden: () => check(async () => !(await loc.first().isVisible()), 'is hidden'),
  };
}
