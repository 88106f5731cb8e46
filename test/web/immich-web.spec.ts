import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { Client } from 'pg';
import type { Kysely } from 'kysely';
import { createDatabase } from '../../src/extension/database/create-database';
import type { ExtensionDatabase } from '../../src/extension/database/schema';
import { eventually, flushRedis, testRedisDb } from '../extension/support/sidecar';
import { MlStack, startMlStack } from '../e2e/support/ml-stack';
import { launchBrowser, screenshotter } from '../support/browser';
import { ocrFixture } from '../support/fixtures';
import { PG_ADMIN_URL } from '../support/immich-database';
import { ImmichClient, ImmichServer, startImmich } from '../support/immich-server';

/**
 * Immich's own web app, patched and built (scripts/immich-server.sh prepare-web), served by the
 * patched server, clicked through in Debian's Chromium: "Regenerate OCR" from a photo's menu,
 * "Regenerate CLIP" for two selected photos, and an `ocr:` search from the search bar.
 */

const ROOT = join(__dirname, '..', '..');
const EMAIL = 'admin@example.com';
const PASSWORD = 'admin-password';

describe("Immich's web app, patched", () => {
  const names = ['f03', 'f07', 'f08'];
  const assets: Record<string, string> = {};
  const databaseName = `immich_ai_web_${process.pid}`;
  let ml: MlStack;
  let immich: ImmichServer;
  let admin: ImmichClient;
  let db: Kysely<ExtensionDatabase>;
  let browser: Browser;
  let page: Page;
  const shot = screenshotter('immich-web');

  beforeAll(async () => {
    const immichDir = execFileSync(join(ROOT, 'scripts', 'immich-server.sh'), ['patched-dir'], {
      encoding: 'utf8',
    }).trim();
    const webDir = execFileSync(join(ROOT, 'scripts', 'immich-server.sh'), ['web-dir'], { encoding: 'utf8' }).trim();
    ml = await startMlStack();
    await flushRedis();
    immich = await startImmich({
      immichDir,
      database: databaseName,
      redisDbIndex: testRedisDb(),
      mlUrl: ml.gatewayUrl,
      webBuild: join(webDir, 'web', 'build'),
    });
    admin = await ImmichClient.admin(immich.url, EMAIL, PASSWORD);
    for (const name of names) assets[name] = await admin.upload(ocrFixture(name), `${name}.jpg`);
    await eventually(async () => admin.queuesIdle(), 240_000, 1000);
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${databaseName}`;
    db = createDatabase(url.toString(), { max: 2 });
    await eventually(
      async () => (await db.selectFrom('immich_ai.ocr_document').select('assetId').execute()).length === names.length,
      120_000,
    );
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  }, 480_000);

  afterAll(async () => {
    await browser?.close();
    await db?.destroy();
    await immich?.stop();
    await ml?.close();
    const client = new Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
    await client.end();
  });

  const lineIds = async (assetId: string) =>
    (await db.selectFrom('immich_ai.ocr_line').select('id').where('assetId', '=', assetId).execute())
      .map((row) => row.id)
      .sort();

  /** Signs in through Immich's login page (a first admin login continues to onboarding), then opens the timeline. */
  async function signIn(target: Page): Promise<void> {
    await target.goto(`${immich.url}/auth/login`);
    await target.fill('#email', EMAIL);
    await target.fill('#password', PASSWORD);
    await target.click('button[type="submit"]');
    await target.waitForURL((url) => !url.pathname.startsWith('/auth/login'), { timeout: 60_000, waitUntil: 'commit' });
    await target.goto(`${immich.url}/photos`);
    await target.locator(`[data-asset="${assets.f03}"]`).waitFor({ timeout: 60_000 });
  }

  it('signs in', async () => {
    await signIn(page);
    await shot(page, 'timeline');
  }, 90_000);

  it('regenerates OCR from the photo menu, with a toast, and renews the rows', async () => {
    const before = await lineIds(assets.f03);
    await page.goto(`${immich.url}/photos/${assets.f03}`);
    await page.getByRole('button', { name: 'More' }).click();
    const entry = page.getByRole('menuitem', { name: 'Regenerate OCR' });
    await entry.waitFor();
    await shot(page, 'asset-menu');
    await entry.click();
    await page.getByText('Regenerating OCR').first().waitFor();
    await shot(page, 'regenerate-ocr-toast');
    const after = await eventually(async () => {
      const ids = await lineIds(assets.f03);
      return ids.length === before.length && ids[0] !== before[0] && ids;
    }, 60_000);
    expect(after).toHaveLength(before.length);
  }, 90_000);

  it('regenerates CLIP for two selected photos from the selection menu', async () => {
    await db.deleteFrom('smart_search').where('assetId', 'in', [assets.f07, assets.f08]).execute();
    await page.goto(`${immich.url}/photos`);
    for (const name of ['f07', 'f08']) {
      const thumbnail = page.locator(`[data-asset="${assets[name]}"]`);
      await thumbnail.hover();
      await thumbnail.getByRole('checkbox').click();
    }
    await page.getByRole('button', { name: 'Menu' }).click();
    const entry = page.getByRole('menuitem', { name: 'Regenerate CLIP' });
    await entry.waitFor();
    await entry.scrollIntoViewIfNeeded();
    await shot(page, 'selection-menu');
    await entry.click();
    await page.getByText('Regenerating CLIP').first().waitFor();
    await shot(page, 'regenerate-clip-toast');
    await eventually(
      async () =>
        (
          await db
            .selectFrom('smart_search')
            .select('assetId')
            .where('assetId', 'in', [assets.f07, assets.f08])
            .execute()
        ).length === 2,
      60_000,
    );
  }, 90_000);

  it('searches the text in photos from the search bar, with the hint, and shows the photo first', async () => {
    await page.goto(`${immich.url}/photos`);
    const bar = page.locator('#main-search-bar');
    await expect(bar.getAttribute('placeholder')).resolves.toContain('ocr:');
    await bar.fill('ocr:面包');
    await bar.press('Enter');
    await page.waitForURL(/\/search/, { waitUntil: 'commit' });
    const first = page.locator('[data-asset]').first();
    await first.waitFor({ timeout: 60_000 });
    expect(await first.getAttribute('data-asset')).toBe(assets.f03);
    await shot(page, 'ocr-search-results');
  }, 90_000);

  it('speaks Chinese', async () => {
    // A browser set to Simplified Chinese, signed in afresh: Immich takes its language from the browser.
    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    await signIn(page);
    await page.goto(`${immich.url}/photos/${assets.f08}`);
    await page.getByRole('button', { name: '更多' }).click();
    await page.getByRole('menuitem', { name: '重新识别文字 (OCR)' }).waitFor();
    await page.getByRole('menuitem', { name: '重新生成 CLIP 特征' }).scrollIntoViewIfNeeded();
    await expect(page.getByRole('menuitem', { name: '重新生成 CLIP 特征' }).count()).resolves.toBe(1);
    await shot(page, 'asset-menu-zh-cn');
    await page.keyboard.press('Escape');
    await page.goto(`${immich.url}/photos`);
    await expect(page.locator('#main-search-bar').getAttribute('placeholder')).resolves.toContain('ocr:');
    await shot(page, 'search-hint-zh-cn');
  }, 120_000);
});
