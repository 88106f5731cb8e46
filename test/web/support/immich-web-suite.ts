import type { Browser, Page } from 'playwright-core';
import { ADMIN, ImmichStack, startImmichStack } from '../../e2e/support/immich-stack';
import { eventually } from '../../extension/support/sidecar';
import { launchBrowser, screenshotter } from '../../support/browser';
import type { ImmichRelease } from '../../support/immich-release';

/**
 * Immich's own web app, patched and built (scripts/immich-server.sh prepare-web), served by the
 * patched server, clicked through in Debian's Chromium: "Regenerate OCR" from a photo's menu,
 * "Regenerate CLIP" for two selected photos, and an `ocr:` search from the search bar, in English and
 * Chinese. One suite, run for each supported release; screenshots go to
 * test-artifacts/screenshots/immich-web-v<release>/.
 */
export function describeImmichWeb(version: ImmichRelease): void {
  describe(`Immich v${version}'s web app, patched`, () => {
    const names = ['f03', 'f07', 'f08'];
    let stack: ImmichStack;
    let assets: Record<string, string>;
    let browser: Browser;
    let page: Page;
    const shot = screenshotter(`immich-web-v${version}`);

    beforeAll(async () => {
      stack = await startImmichStack({
        version,
        label: `web_${version.replace(/\./g, '_')}`,
        photos: names,
        patched: true,
        web: true,
      });
      assets = stack.assets;
      await eventually(
        async () =>
          (await stack.db.selectFrom('immich_ai.ocr_document').select('assetId').execute()).length === names.length,
        120_000,
      );
      browser = await launchBrowser();
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    }, 480_000);

    afterAll(async () => {
      await browser?.close();
      await stack?.stop();
    });

    const lineIds = async (assetId: string) =>
      (await stack.db.selectFrom('immich_ai.ocr_line').select('id').where('assetId', '=', assetId).execute())
        .map((row) => row.id)
        .sort();

    /** Signs in through Immich's login page (a first admin login continues to onboarding), then opens the timeline. */
    async function signIn(target: Page): Promise<void> {
      await target.goto(`${stack.immich.url}/auth/login`);
      await target.fill('#email', ADMIN.email);
      await target.fill('#password', ADMIN.password);
      await target.click('button[type="submit"]');
      await target.waitForURL((url) => !url.pathname.startsWith('/auth/login'), {
        timeout: 60_000,
        waitUntil: 'commit',
      });
      await target.goto(`${stack.immich.url}/photos`);
      await target.locator(`[data-asset="${assets.f03}"]`).waitFor({ timeout: 60_000 });
    }

    it('signs in', async () => {
      await signIn(page);
      await shot(page, 'timeline');
    }, 90_000);

    it('regenerates OCR from the photo menu, with a toast, and renews the rows', async () => {
      const before = await lineIds(assets.f03);
      await page.goto(`${stack.immich.url}/photos/${assets.f03}`);
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
      await stack.db.deleteFrom('smart_search').where('assetId', 'in', [assets.f07, assets.f08]).execute();
      await page.goto(`${stack.immich.url}/photos`);
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
            await stack.db
              .selectFrom('smart_search')
              .select('assetId')
              .where('assetId', 'in', [assets.f07, assets.f08])
              .execute()
          ).length === 2,
        60_000,
      );
    }, 90_000);

    it('searches the text in photos from the search bar, with the hint, and shows the photo first', async () => {
      await page.goto(`${stack.immich.url}/photos`);
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
      await page.goto(`${stack.immich.url}/photos/${assets.f08}`);
      await page.getByRole('button', { name: '更多' }).click();
      await page.getByRole('menuitem', { name: '重新识别文字 (OCR)' }).waitFor();
      await page.getByRole('menuitem', { name: '重新生成 CLIP 特征' }).scrollIntoViewIfNeeded();
      await expect(page.getByRole('menuitem', { name: '重新生成 CLIP 特征' }).count()).resolves.toBe(1);
      await shot(page, 'asset-menu-zh-cn');
      await page.keyboard.press('Escape');
      await page.goto(`${stack.immich.url}/photos`);
      await expect(page.locator('#main-search-bar').getAttribute('placeholder')).resolves.toContain('ocr:');
      await shot(page, 'search-hint-zh-cn');
    }, 120_000);
  });
}
