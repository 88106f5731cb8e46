import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { sql } from 'kysely';
import { loadExtensionConfig } from '../../src/config/extension.config';
import { migrateToLatest } from '../../src/extension/database/migrator';
import { QUEUE_NAME, QUEUE_PREFIX } from '../../src/extension/queue/queue.constants';
import { uninstall, UninstallRefused } from '../../src/maintenance/uninstall';
import { createTestDatabase, seedAsset, seedUser, type TestDatabase } from '../support/immich-database';
import { startPrivateRedis, type PrivateRedis } from '../support/private-services';

/**
 * `immich-ai uninstall` on a real install: Immich's schema with a photo, our migrations and OCR text for
 * it, zhparser's configuration, our queue with a job in a Redis of the test's own beside a key of
 * Immich's. Ours must go, Immich's must stay exactly as it was.
 */

let database: TestDatabase;
let redis: PrivateRedis;
let connection: IORedis;
let env: Record<string, string>;

const run = (args: string[]) =>
  promisify(execFile)('node', [join(__dirname, '..', '..', 'dist', 'cli.js'), 'uninstall', ...args], {
    env: { PATH: process.env.PATH, ...env },
  }).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

/** What Immich has: its tables, its photos, and its Redis keys. */
async function immichState() {
  const { rows } = await sql<{ name: string }>`
    SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`.execute(
    database.db,
  );
  const { rows: assets } = await sql<{ n: string }>`SELECT count(*) AS n FROM asset`.execute(database.db);
  return { tables: rows.map((r) => r.name), assets: Number(assets[0].n), keys: await connection.keys('immich_bull:*') };
}

const ourSchema = async () =>
  (await sql<{ n: string }>`SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'immich_ai'`.execute(database.db))
    .rows[0].n === '1';

beforeAll(async () => {
  [database, redis] = await Promise.all([createTestDatabase('uninstall'), startPrivateRedis()]);
  env = { DB_URL: database.url, REDIS_HOSTNAME: '127.0.0.1', REDIS_PORT: String(redis.port) };
  connection = new IORedis({ host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: 1 });
  await migrateToLatest(database.db);
  const user = await seedUser(database.db);
  const assetId = await seedAsset(database.db, { ownerId: user.id });
  await sql`
    INSERT INTO immich_ai.ocr_document ("assetId", status, source, text, segmenter) VALUES (${assetId}, 'done', 'inference', '发票', 'zhparser')`.execute(
    database.db,
  );
  const queue = new Queue(QUEUE_NAME, { prefix: QUEUE_PREFIX, connection: { host: '127.0.0.1', port: redis.port } });
  await queue.add('ocr', { assetId });
  await queue.close();
  // One of Immich's own BullMQ keys, which must survive.
  await connection.set('immich_bull:thumbnailGeneration:meta', 'x');
});

afterAll(async () => {
  connection?.disconnect();
  await Promise.all([database?.drop(), redis?.remove()]);
});

describe('immich-ai uninstall', () => {
  it('without --yes says what it would remove and removes nothing', async () => {
    const before = await immichState();
    const { code, stdout } = await run([]);
    expect(code).toBe(0);
    expect(stdout).toContain(
      'would revert 0005-drop-failed-index\nwould revert 0004-one-search-index\nwould revert 0003-document-search-keys\nwould revert 0002-document-owner-and-date\nwould revert 0001-ocr-documents',
    );
    expect(stdout).toMatch(/would drop schema immich_ai \(.*ocr_document: 1 rows/);
    expect(stdout).toContain('would drop the text search configuration chinese and zhparser');
    expect(stdout).toContain('would remove queue immich-ai (immich_ai_bull) from Redis: 1 jobs');
    expect(await ourSchema()).toBe(true);
    expect(await connection.keys(`${QUEUE_PREFIX}:*`)).not.toEqual([]);
    expect(await immichState()).toEqual(before);
  });

  it('refuses while a worker still uses the queue: it would install everything again', async () => {
    const worker = new Worker(QUEUE_NAME, async () => undefined, {
      prefix: QUEUE_PREFIX,
      connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null },
      autorun: false,
    });
    await worker.waitUntilReady();
    try {
      await expect(uninstall(loadExtensionConfig(env), { apply: true })).rejects.toThrow(UninstallRefused);
      expect(await ourSchema()).toBe(true);
    } finally {
      await worker.close();
    }
  });

  it('with --yes removes our schema, zhparser and queue, and leaves Immich exactly as it was', async () => {
    const before = await immichState();
    const { code, stdout } = await run(['--yes']);
    expect({ code, stdout }).toEqual({ code: 0, stdout: expect.stringContaining('reverted 0001-ocr-documents') });
    expect(await ourSchema()).toBe(false);
    const { rows } = await sql<{ n: string }>`
      SELECT (SELECT count(*) FROM pg_ts_config WHERE cfgname = 'chinese') + (SELECT count(*) FROM pg_extension WHERE extname = 'zhparser') AS n`.execute(
      database.db,
    );
    expect(rows[0].n).toBe('0');
    expect(await connection.keys(`${QUEUE_PREFIX}:*`)).toEqual([]);
    expect(await immichState()).toEqual(before);
    // pg_trgm is Immich's too: it stays.
    const { rows: trgm } = await sql<{
      n: string;
    }>`SELECT count(*) AS n FROM pg_extension WHERE extname = 'pg_trgm'`.execute(database.db);
    expect(trgm[0].n).toBe('1');
  });

  it('a second run finds nothing to do, and the extension installs again afterwards', async () => {
    const { code, stdout } = await run(['--yes']);
    expect(code).toBe(0);
    expect(stdout).not.toContain('reverted');
    expect(await migrateToLatest(database.db)).toEqual([
      '0001-ocr-documents',
      '0002-document-owner-and-date',
      '0003-document-search-keys',
      '0004-one-search-index',
      '0005-drop-failed-index',
    ]);
  });
});
