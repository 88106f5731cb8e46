import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshotter } from '../support/browser';
import { createTestDatabase, seedAsset, seedUser, SeededUser, TestDatabase } from '../support/immich-database';
import { RunningApp, startApp } from '../inference/helpers';
import { eventually, flushRedis, mediaWithPreviews, RunningSidecar, startSidecar } from '../extension/support/sidecar';

/**
 * The sidecar's search page in a real browser: sign in (a wrong key first), search a fixture text,
 * the right photo first with its box drawn where the text is, regenerate it and watch the queue.
 */

/** Where "面包 Bread 6.50" is in f03.jpg: the dark pixels of its line, measured from the image (0..1). */
const BREAD_LINE = { x0: 121 / 1440, x1: 362 / 1440, y0: 267 / 1080, y1: 297 / 1080 };

describe('the sidecar search page', () => {
  const names = ['f03', 'f04', 'f08'];
  const assets: Record<string, string> = {};
  let inference: RunningApp;
  let database: TestDatabase;
  let media: Awaited<ReturnType<typeof mediaWithPreviews>>;
  let sidecar: RunningSidecar;
  let user: SeededUser;
  let browser: Browser;
  let page: Page;
  const shot = screenshotter('sidecar-page');

  beforeAll(async () => {
    inference = await startApp({ ocrWorkers: 0, tasks: ['ocr'] });
    database = await createTestDatabase('page');
    media = await mediaWithPreviews(names);
    user = await seedUser(database.db, { name: 'Page Tester' });
    for (const name of names)
      assets[name] = await seedAsset(database.db, {
        ownerId: user.id,
        previewPath: media.paths[name],
        originalFileName: `${name}.jpg`,
      });
    await flushRedis();
    sidecar = await startSidecar(database, {
      INFERENCE_URL: inference.url,
      IMMICH_MEDIA_LOCATION: media.root,
      NEW_ASSET_POLL_MS: '300',
      SEARCH_MIXED: 'false',
    });
    await eventually(
      async () =>
        (await database.db.selectFrom('immich_ai.ocr_document').select('assetId').execute()).length === names.length,
      60_000,
    );
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await sidecar?.close();
    await inference?.close();
    await database?.drop();
    await media?.remove();
  });

  it('says clearly when the API key is wrong', async () => {
    await page.goto(sidecar.url);
    await shot(page, 'sign-in');
    await page.fill('#api-key', 'not-a-key');
    await page.press('#api-key', 'Enter');
    await page.waitForSelector('#sign-in-error:has-text("not valid")');
    expect(await page.textContent('#sign-in-error')).toBe('This API key is not valid for this Immich server.');
    await shot(page, 'wrong-key');
  });

  it('finds the right photo first and draws the box where the text is', async () => {
    await page.fill('#api-key', user.apiKey);
    await page.press('#api-key', 'Enter');
    await page.waitForSelector('#app:not([hidden])');
    await page.waitForSelector('#queue-counts dd[data-count="done"]:has-text("3")');
    await page.fill('#q', 'ocr:面包');
    await page.press('#q', 'Enter');
    const first = page.locator('#results > li').first();
    await first.waitFor();
    expect(await first.getAttribute('data-asset-id')).toBe(assets.f03);
    await expect(first.locator('mark').first().textContent()).resolves.toBe('面包');
    // The photo has arrived (a blob: URL) and decoded. (Not waitForFunction: the page's CSP refuses eval.)
    await first.locator('img[src^="blob:"]').waitFor();
    const naturalSize = () =>
      first.locator('img').evaluate((img: { naturalWidth: number; naturalHeight: number }) => ({
        w: img.naturalWidth,
        h: img.naturalHeight,
      }));
    await eventually(async () => (await naturalSize()).w > 0);
    await shot(page, 'search-results');

    const image = (await first.locator('img').boundingBox())!;
    const natural = await first.locator('img').evaluate((img: { naturalWidth: number; naturalHeight: number }) => ({
      w: img.naturalWidth,
      h: img.naturalHeight,
    }));
    // The photo as drawn inside its frame (object-fit: contain).
    const scale = Math.min(image.width / natural.w, image.height / natural.h);
    const drawn = {
      x: image.x + (image.width - natural.w * scale) / 2,
      y: image.y + (image.height - natural.h * scale) / 2,
      w: natural.w * scale,
      h: natural.h * scale,
    };
    const box = (await first.locator('polygon').first().boundingBox())!;
    const rel = {
      x0: (box.x - drawn.x) / drawn.w,
      x1: (box.x + box.width - drawn.x) / drawn.w,
      y0: (box.y - drawn.y) / drawn.h,
      y1: (box.y + box.height - drawn.y) / drawn.h,
    };
    // The box covers the line's ink, and not much more.
    const slack = 0.015;
    expect(rel.x0).toBeLessThanOrEqual(BREAD_LINE.x0 + slack);
    expect(rel.x1).toBeGreaterThanOrEqual(BREAD_LINE.x1 - slack);
    expect(rel.y0).toBeLessThanOrEqual(BREAD_LINE.y0 + slack);
    expect(rel.y1).toBeGreaterThanOrEqual(BREAD_LINE.y1 - slack);
    expect(rel.y1 - rel.y0).toBeLessThan(3 * (BREAD_LINE.y1 - BREAD_LINE.y0));
    expect(rel.x1 - rel.x0).toBeLessThan(1.5 * (BREAD_LINE.x1 - BREAD_LINE.x0));
  });

  it('regenerates a photo and shows the queue finishing it', async () => {
    const first = page.locator('#results > li').first();
    const button = first.locator('button', { hasText: 'Regenerate' });
    await button.focus();
    await page.keyboard.press('Enter');
    await first.locator('button:has-text("Queued")').waitFor();
    await shot(page, 'regenerate-queued');
    await first.locator('button:has-text("Done")').waitFor({ timeout: 60_000 });
    await page.waitForSelector('#queue-counts dd[data-count="running"]:has-text("0")');
    await page.waitForSelector('#queue-counts dd[data-count="waiting"]:has-text("0")');
    expect(await page.textContent('#queue-counts dd[data-count="done"]')).toBe('3');
    await shot(page, 'regenerate-done');
  }, 90_000);

  it('fits a phone screen: nothing wider than the screen, results one per row', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.goto(sidecar.url);
    await phone.fill('#api-key', user.apiKey);
    await phone.press('#api-key', 'Enter');
    await phone.fill('#q', 'ocr:西湖');
    await phone.press('#q', 'Enter');
    await phone.locator('#results > li').first().waitFor();
    const widths = await phone.locator('body').evaluate((body: { scrollWidth: number; clientWidth: number }) => ({
      content: body.scrollWidth,
      screen: body.clientWidth,
    }));
    expect(widths.content).toBeLessThanOrEqual(widths.screen);
    const card = (await phone.locator('#results > li').first().boundingBox())!;
    expect(card.width).toBeGreaterThan(300);
    await shot(phone, 'phone');
    await phone.close();
  });

  it('shows Chinese text and needs nothing from outside this server', async () => {
    await page.fill('#q', 'ocr:西湖');
    await page.press('#q', 'Enter');
    await page.waitForSelector(`#results > li[data-asset-id="${assets.f08}"]`);
    const outside: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(sidecar.url) && !request.url().startsWith('blob:')) outside.push(request.url());
    });
    await page.reload();
    await page.waitForSelector('#app:not([hidden])');
    expect(outside).toEqual([]);
    await shot(page, 'chinese-text');
  });
});
