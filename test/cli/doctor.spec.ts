import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'bullmq';
import { sql } from 'kysely';
import { loadExtensionConfig, type ExtensionConfig } from '../../src/config/extension.config';
import { loadGatewayConfig } from '../../src/config/gateway.config';
import { readFileSync } from 'node:fs';
import { type CheckResult, type DoctorOptions, formatReport, runDoctor as doctor } from '../../src/doctor/doctor';
import { migrateToLatest } from '../../src/extension/database/migrator';
import { QUEUE_NAME, QUEUE_PREFIX } from '../../src/extension/queue/queue.constants';
import {
  closedPort,
  startGateway,
  startServer,
  type GatewayUnderTest,
  type TestServer,
} from '../gateway/support/servers';
import { emptyDir, startApp, testClipRoot, type RunningApp } from '../inference/helpers';
import { createTestDatabase, seedAsset, seedUser, type TestDatabase } from '../support/immich-database';
import { mediaWithPreviews } from '../extension/support/sidecar';
import { TEST_IMMICH_VERSION } from '../support/immich-release';
import { startPrivateRedis, type PrivateRedis } from '../support/private-services';

/**
 * `immich-ai doctor` against a real stack: Immich's schema in Postgres, our inference service (the
 * small generated cn-clip models, the bundled OCR models) behind our gateway, a stand-in for Immich's
 * ML server that answers /ping, and a Redis of the test's own with a real BullMQ worker on our queue.
 * Each failure a self-hoster is likely to meet is made for real and must be named.
 */

const API_KEY = 'doctor-test-key';

let database: TestDatabase;
let redis: PrivateRedis;
let worker: Worker;
let inference: RunningApp;
let immichMl: TestServer;
let gateway: GatewayUnderTest;
let clip: Awaited<ReturnType<typeof testClipRoot>>;

const extensionConfig = (env: Record<string, string> = {}): ExtensionConfig =>
  loadExtensionConfig({ DB_URL: database.url, REDIS_HOSTNAME: '127.0.0.1', REDIS_PORT: String(redis.port), ...env });

const startOurGateway = (inferenceUrl: string, immichUrl = immichMl.url) =>
  startGateway(
    loadGatewayConfig({
      INFERENCE_API: inferenceUrl,
      INFERENCE_API_KEY: API_KEY,
      IMMICH_API: immichUrl,
      HEALTH_INTERVAL_MS: '200',
    }),
  );

/** Immich's saved settings, as its admin page stores them (only the keys that differ from its defaults). */
async function saveImmichSettings(machineLearning: object): Promise<void> {
  await sql`
    INSERT INTO system_metadata (key, value) VALUES ('system-config', ${JSON.stringify({ machineLearning })}::jsonb)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`.execute(database.db);
}

/** Every line the doctor printed in these tests, to hold docs/troubleshooting.md to. */
const printed: string[] = [];
async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const results = await doctor(options);
  printed.push(...formatReport(results).split('\n'));
  return results;
}

const byCheck = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.check, r]));

/** Waits until the gateway has checked its upstreams once (its /metrics carry their state). */
async function checked(url: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (/^gateway_upstream_healthy\{/m.test(await (await fetch(`${url}/metrics`)).text())) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  [database, redis, clip] = await Promise.all([createTestDatabase('doctor'), startPrivateRedis(), testClipRoot()]);
  await migrateToLatest(database.db);
  // Immich records the release it starts as (the template was made by its migrations alone).
  await sql`INSERT INTO version_history (version) VALUES (${TEST_IMMICH_VERSION})`.execute(database.db);
  inference = await startApp({ apiAuthKey: API_KEY, clip: { root: clip.root, modelName: 'ViT-B-16' }, ocrWorkers: 0 });
  immichMl = await startServer((_, res) => void res.end('{}'));
  gateway = await startOurGateway(inference.url);
  await checked(gateway.url);
  await saveImmichSettings({ urls: [gateway.url], clip: { modelName: 'ViT-B-16__openai' } });
  worker = new Worker(QUEUE_NAME, async () => undefined, {
    prefix: QUEUE_PREFIX,
    connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null },
  });
  await worker.waitUntilReady();
});

afterAll(async () => {
  await worker?.close();
  await Promise.all([gateway?.close(), inference?.close(), immichMl?.close()]);
  await Promise.all([database?.drop(), redis?.remove(), clip?.remove()]);
});

describe('immich-ai doctor', () => {
  it('says OK for a working install, finding the ML URL in Immich’s own settings', async () => {
    const results = await runDoctor({ config: extensionConfig(), env: {} });
    const report = formatReport(results);
    expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
    expect(report.trimEnd().split('\n').pop()).toBe('OK');
    const checks = byCheck(results);
    expect(checks['ML URL'].detail).toBe(`${gateway.url} (saved settings) answers /ping`);
    expect(checks.gateway.detail).toBe(`immich: ${immichMl.url} up; inference: ${inference.url} up`);
    expect(checks.inference.detail).toMatch(new RegExp(`^${inference.url}: ocr .*clip_image .*clip_text`));
    expect(checks.clip.detail).toContain('512 numbers');
    expect(checks.migrations.detail).toBe('5 of 5 applied (schema immich_ai)');
    expect(checks.zhparser.status).toBe('ok');
    expect(checks.queue.detail).toMatch(/0 waiting.*; 1 worker$/);
  });

  it("reads Immich's release and says whether it is supported, beside Immich and patched into it", async () => {
    const versionCheck = async (mode: 'sidecar' | 'patched') =>
      byCheck(await runDoctor({ config: extensionConfig(), env: {}, mode }))['immich version'];
    expect(await versionCheck('sidecar')).toMatchObject({
      status: 'ok',
      detail: `Immich v${TEST_IMMICH_VERSION}: supported as a sidecar`,
    });
    expect(await versionCheck('patched')).toMatchObject({
      status: 'ok',
      detail: `Immich v${TEST_IMMICH_VERSION}: supported (patch series v${TEST_IMMICH_VERSION})`,
    });
    // Immich upgraded itself to a release this immich-ai does not know.
    await sql`INSERT INTO version_history (version, "createdAt") VALUES ('3.2.0', now() + interval '1 minute')`.execute(
      database.db,
    );
    try {
      expect(await versionCheck('sidecar')).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining('untested'),
      });
      expect(await versionCheck('patched')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('Immich v3.2.0 has no patch series (supported: v2.4.1, v3.1.0)'),
      });
    } finally {
      await sql`DELETE FROM version_history WHERE version = '3.2.0'`.execute(database.db);
    }
  });

  it('as a command: prints the report and exits 0, or 1 naming what failed', async () => {
    const run = (env: Record<string, string>) =>
      promisify(execFile)('node', [join(__dirname, '..', '..', 'dist', 'cli.js'), 'doctor'], {
        env: {
          PATH: process.env.PATH,
          DB_URL: database.url,
          REDIS_HOSTNAME: '127.0.0.1',
          REDIS_PORT: String(redis.port),
          ...env,
        },
      }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
    const good = await run({});
    expect(good).toEqual({ code: 0, stdout: expect.stringMatching(/^OK {3}database: .*\nOK\n$/s) });
    const bad = await run({ REDIS_PORT: (await closedPort()).split(':').pop()! });
    printed.push(...bad.stdout.split('\n'));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL queue: Redis 127\.0\.0\.1:\d+ db 0: .*ECONNREFUSED/m);
    expect(bad.stdout.trimEnd().split('\n').pop()).toBe('1 problem: queue');
  });

  it('names migrations that are not applied and how to apply them', async () => {
    const fresh = await createTestDatabase('doctor-fresh');
    try {
      const checks = byCheck(await runDoctor({ config: extensionConfig({ DB_URL: fresh.url }), mlUrl: gateway.url }));
      expect(checks.migrations).toEqual({
        check: 'migrations',
        status: 'fail',
        detail: expect.stringMatching(
          /^5 of 5 not applied \(0001-ocr-documents, 0002-document-owner-and-date, 0003-document-search-keys, 0004-one-search-index, 0005-drop-failed-index\): .*immich-ai migrate/,
        ),
      });
    } finally {
      await fresh.drop();
    }
  });

  it('says when Immich still calls another ML server, and when the URL does not answer', async () => {
    const notOurs = byCheck(await runDoctor({ config: extensionConfig(), mlUrl: immichMl.url }));
    expect(notOurs['ML URL'].status).toBe('ok');
    expect(notOurs.gateway).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('is not the immich-ai gateway'),
    });
    expect(notOurs.gateway.detail).toContain('IMMICH_MACHINE_LEARNING_URL=http://immich-ai-gateway:8080');

    const down = await closedPort();
    const checks = byCheck(await runDoctor({ config: extensionConfig(), mlUrl: down }));
    expect(checks['ML URL']).toEqual({
      check: 'ML URL',
      status: 'fail',
      detail: `${down} (--ml-url): /ping refused the connection (is it running?)`,
    });
  });

  it('names an upstream of the gateway that is down, by route', async () => {
    const broken = await startOurGateway(inference.url, await closedPort());
    try {
      await checked(broken.url);
      const checks = byCheck(await runDoctor({ config: extensionConfig(), mlUrl: broken.url }));
      expect(checks.gateway.status).toBe('fail');
      expect(checks.gateway.detail).toMatch(/^immich: http:\/\/127\.0\.0\.1:\d+ DOWN; inference: \S+ up$/);
    } finally {
      await broken.close();
    }
  });

  it('names the missing cn-clip file when the weights are not there', async () => {
    const empty = await emptyDir();
    const bare = await startApp({
      apiAuthKey: API_KEY,
      clip: { root: empty.dir, modelName: 'ViT-B-16' },
      ocrWorkers: 0,
    });
    const front = await startOurGateway(bare.url);
    try {
      await checked(front.url);
      const checks = byCheck(await runDoctor({ config: extensionConfig(), mlUrl: front.url }));
      expect(checks.inference).toMatchObject({ status: 'fail', detail: expect.stringMatching(/clip_image: .*\.onnx/) });
      expect(checks.clip).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('.onnx is missing'),
      });
      expect(checks.ocr.status).toBe('ok');
    } finally {
      await Promise.all([front.close(), bare.close()]);
      await empty.remove();
    }
  });

  it("says when Immich's smart_search holds vectors of another size than cn-clip gives", async () => {
    const other = await createTestDatabase('doctor-dims');
    try {
      await migrateToLatest(other.db);
      await sql`ALTER TABLE smart_search ALTER COLUMN embedding TYPE vector(768)`.execute(other.db);
      const checks = byCheck(await runDoctor({ config: extensionConfig({ DB_URL: other.url }), mlUrl: gateway.url }));
      expect(checks['immich settings'].detail).toContain('smart_search 768 dimensions');
      expect(checks.clip).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(
          /answered 512 numbers, but Immich's smart_search holds 768: choose a 512-dimension/,
        ),
      });
    } finally {
      await other.drop();
    }
  });

  it("warns, without failing, when the database has no zhparser; fails when Immich's ML is off", async () => {
    const other = await createTestDatabase('doctor-plain');
    try {
      await migrateToLatest(other.db);
      await sql`DROP TEXT SEARCH CONFIGURATION chinese`.execute(other.db);
      await sql`
        INSERT INTO system_metadata (key, value) VALUES ('system-config', '{"machineLearning":{"enabled":false}}'::jsonb)`.execute(
        other.db,
      );
      const results = await runDoctor({ config: extensionConfig({ DB_URL: other.url }), mlUrl: gateway.url });
      const checks = byCheck(results);
      expect(checks.zhparser).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining('run sql/zhparser.sql'),
      });
      expect(checks['immich settings'].status).toBe('fail');
      expect(formatReport(results).trimEnd().split('\n').pop()).toBe('1 problem: immich settings');
    } finally {
      await other.drop();
    }
  });

  it('cannot reach the database: says which, and still checks what does not need it', async () => {
    const port = (await closedPort()).split(':').pop();
    const results = await runDoctor({
      config: extensionConfig({ DB_URL: `postgres://postgres:secret@127.0.0.1:${port}/immich` }),
      env: { IMMICH_MACHINE_LEARNING_URL: gateway.url },
    });
    const checks = byCheck(results);
    expect(checks.database.status).toBe('fail');
    expect(checks.database.detail).toContain(`postgres://postgres@127.0.0.1:${port}/immich`);
    expect(formatReport(results)).not.toContain('secret');
    expect(checks['ML URL'].detail).toContain("(IMMICH_MACHINE_LEARNING_URL; Immich's database unreachable)");
    expect(checks.queue.status).toBe('ok');
  });

  it('reads the newest preview where the OCR job would, and says which setting is wrong when it cannot', async () => {
    const photos = await createTestDatabase('doctor-previews');
    const media = await mediaWithPreviews(['f03']);
    try {
      const previews = async (env: Record<string, string>) =>
        byCheck(await runDoctor({ config: extensionConfig({ DB_URL: photos.url, ...env }), mlUrl: gateway.url }))
          .previews;
      expect(await previews({ IMMICH_MEDIA_LOCATION: media.root })).toMatchObject({
        status: 'ok',
        detail: 'no preview yet to read (Immich makes one for each photo it is given)',
      });

      const owner = await seedUser(photos.db);
      await seedAsset(photos.db, { ownerId: owner.id, previewPath: media.paths.f03 });
      expect(await previews({ IMMICH_MEDIA_LOCATION: media.root })).toEqual({
        check: 'previews',
        status: 'ok',
        detail: `the newest preview can be read (${media.paths.f03})`,
      });

      // The sidecar's thumbnails mount points at the wrong host folder: the file is not there.
      const empty = await mediaWithPreviews([]);
      try {
        const moved = media.paths.f03.replace(media.root, empty.root);
        await sql`UPDATE asset_file SET path = ${moved}`.execute(photos.db);
        expect(await previews({ IMMICH_MEDIA_LOCATION: empty.root })).toMatchObject({
          status: 'fail',
          detail: expect.stringMatching(
            /is not there: IMMICH_THUMBS_LOCATION \(docker\/\.env\) must be the host folder/,
          ),
        });
      } finally {
        await empty.remove();
      }

      // An install that still keeps its media at the old path, while the sidecar looks in /data.
      await sql`UPDATE asset_file SET path = '/usr/src/app/upload/thumbs/u/ab/x-preview.jpeg'`.execute(photos.db);
      expect(await previews({ IMMICH_MEDIA_LOCATION: '/data' })).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('set IMMICH_MEDIA_LOCATION=/usr/src/app/upload (docker/.env)'),
      });
    } finally {
      await Promise.all([photos.drop(), media.remove()]);
    }
  });

  it('docs/troubleshooting.md quotes lines the doctor prints', () => {
    const page = readFileSync(join(__dirname, '..', '..', 'docs', 'troubleshooting.md'), 'utf8');
    const quoted = [...page.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)]
      .flatMap((block) => block[2].split('\n'))
      .filter((line) => /^(FAIL|WARN|OK {2}) /.test(line));
    expect(quoted.length).toBeGreaterThanOrEqual(5);
    for (const line of quoted) {
      const pattern = new RegExp(
        `^${line
          .split(/<[^>]*>/)
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      );
      expect([line, printed.some((p) => pattern.test(p))]).toEqual([line, true]);
    }
  });
});
