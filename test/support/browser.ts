import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (no browser download). Screenshots of every step go to
 * test-artifacts/screenshots/<suite>/, kept after the run for people to look at.
 */

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium'].filter(
  Boolean,
) as string[];
export const SCREENSHOT_DIR = join(__dirname, '..', '..', 'test-artifacts', 'screenshots');

export async function launchBrowser(): Promise<Browser> {
  const executablePath = CANDIDATES.find((path) => existsSync(path));
  if (!executablePath)
    throw new Error(
      "Chromium not found: install Debian's chromium package (apt-get install chromium fonts-wqy-microhei)",
    );
  return chromium.launch({
    executablePath,
    headless: true,
    // No background traffic: this machine's network is closed, and a test must not depend on it.
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export function screenshotter(suite: string) {
  const dir = join(SCREENSHOT_DIR, suite);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let step = 0;
  return (page: Page, name: string) =>
    page.screenshot({ path: join(dir, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });
}
