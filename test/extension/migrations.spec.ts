import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { loadExtensionConfig } from '../../src/config/extension.config';
import { QUEUE_NAME } from '../../src/extension/queue/queue.constants';
import { createMigrator } from '../../src/extension/database/migrator';
import { createSidecarApp } from '../../src/extension/sidecar/create-sidecar-app';
import { createTestDatabase, seedAsset, seedUser, TestDatabase, releaseAssetColumns } from '../support/immich-database';

/** `immich-ai migrate` on Immich's real schema, through the built CLI as a user runs it. */

const run = promisify(execFile);
const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
/** The tests that run the CLI six to eight times: each run starts Node and loads the migrations. */
const CLI_RUNS_TIMEOUT_MS = 180_000;

describe('immich-ai migrate', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('migrate');
  });

  afterAll(() => database?.drop());

  const migrate = (...args: string[]) =>
    run(process.execPath, [CLI, 'migrate', ...args], { env: { ...process.env, DB_URL: database.url } });
  const tables = async (schema: string) =>
    (
      await sql<{
        name: string;
      }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY 1`.execute(
        database.db,
      )
    ).rows.map((row) => row.name);
  /** Our GIN indexes over the search columns. */
  const searchIndexes = async () =>
    (
      await sql<{ name: string }>`
        SELECT indexname AS name FROM pg_indexes
        WHERE schemaname = 'immich_ai' AND tablename = 'ocr_document' AND indexdef LIKE '%USING gin%' ORDER BY 1`.execute(
        database.db,
      )
    ).rows.map((row) => row.name);
  const indexes = async () =>
    (
      await sql<{
        name: string;
      }>`SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'immich_ai' ORDER BY 1`.execute(database.db)
    ).rows.map((row) => row.name);
  const immichMigrations = async () =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM public.kysely_migrations`.execute(database.db)).rows[0].n;

  it('lists pending migrations without changing anything', async () => {
    const { stdout } = await migrate('--status');
    expect(stdout).toMatch(/^0001-ocr-documents {2}pending$/m);
    expect(stdout).toMatch(/^0002-document-owner-and-date {2}pending$/m);
    expect(stdout).toMatch(/^0003-document-search-keys {2}pending$/m);
    expect(stdout).toMatch(/^0004-one-search-index {2}pending$/m);
    expect(stdout).toMatch(/^0005-drop-failed-index {2}pending$/m);
    expect(await tables('immich_ai')).toEqual([]);
  });

  it("applies ours in our own schema and history table, never touching Immich's", async () => {
    const before = await immichMigrations();
    expect((await migrate()).stdout).toBe(
      'applied 0001-ocr-documents\napplied 0002-document-owner-and-date\napplied 0003-document-search-keys\napplied 0004-one-search-index\napplied 0005-drop-failed-index\n',
    );
    expect(await tables('immich_ai')).toEqual(['migrations', 'migrations_lock', 'ocr_document', 'ocr_line']);
    expect(await immichMigrations()).toBe(before);
    expect((await migrate()).stdout).toBe('already up to date\n');
    expect((await migrate('--status')).stdout).toMatch(/^0001-ocr-documents {2}applied \d{4}-/m);
  });

  it(
    'reverts one step with --down, and applies again',
    async () => {
      expect(await indexes()).not.toContain('ocr_document_failed_idx');
      expect((await migrate('--down')).stdout).toBe('reverted 0005-drop-failed-index\n');
      expect(await indexes()).toContain('ocr_document_failed_idx');
      expect((await migrate('--down')).stdout).toBe('reverted 0004-one-search-index\n');
      expect(await searchIndexes()).toEqual(['ocr_document_search_latin_idx', 'ocr_document_search_vector_idx']);
      expect((await migrate('--down')).stdout).toBe('reverted 0003-document-search-keys\n');
      expect((await migrate('--down')).stdout).toBe('reverted 0002-document-owner-and-date\n');
      expect((await migrate('--down')).stdout).toBe('reverted 0001-ocr-documents\n');
      expect(await tables('immich_ai')).toEqual(['migrations', 'migrations_lock']);
      expect((await migrate('--down')).stdout).toBe('nothing to revert\n');
      expect((await migrate()).stdout).toBe(
        'applied 0001-ocr-documents\napplied 0002-document-owner-and-date\napplied 0003-document-search-keys\napplied 0004-one-search-index\napplied 0005-drop-failed-index\n',
      );
    },
    CLI_RUNS_TIMEOUT_MS,
  );

  it(
    "an upgrade fills the owner and date of documents indexed before 0002 from Immich's asset, and their search keys",
    async () => {
      expect((await migrate('--down')).stdout).toBe('reverted 0005-drop-failed-index\n');
      expect((await migrate('--down')).stdout).toBe('reverted 0004-one-search-index\n');
      expect((await migrate('--down')).stdout).toBe('reverted 0003-document-search-keys\n');
      expect((await migrate('--down')).stdout).toBe('reverted 0002-document-owner-and-date\n');
      const user = await seedUser(database.db);
      const taken = new Date('2019-06-01T08:00:00Z');
      const assetId = await seedAsset(database.db, { ownerId: user.id, fileCreatedAt: taken });
      await sql`INSERT INTO immich_ai.ocr_document ("assetId", status, source, segmenter) VALUES (${assetId}, 'done', 'immich', 'characters')`.execute(
        database.db,
      );
      expect((await migrate()).stdout).toBe(
        'applied 0002-document-owner-and-date\napplied 0003-document-search-keys\napplied 0004-one-search-index\napplied 0005-drop-failed-index\n',
      );
      expect(await searchIndexes()).toEqual(['ocr_document_search_idx']);
      const { rows } = await sql<{ ownerId: string; fileCreatedAt: Date; searchKeys: string }>`
      SELECT "ownerId", "fileCreatedAt", "searchKeys"::text FROM immich_ai.ocr_document WHERE "assetId" = ${assetId}`.execute(
        database.db,
      );
      expect(rows).toEqual([{ ownerId: user.id, fileCreatedAt: taken, searchKeys: `'m201906' 'o${user.id}' 'y2019'` }]);
    },
    CLI_RUNS_TIMEOUT_MS,
  );

  it('says what is wrong with the configuration, without echoing secrets', async () => {
    const failed = await run(process.execPath, [CLI, 'migrate'], {
      env: { ...process.env, DB_URL: 'mysql://root:hunter2@db/x' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toEqual(expect.objectContaining({ code: 1 }));
    expect((failed as { stderr: string }).stderr).toContain('DB_URL=(hidden): expected a postgres:// URL');
    expect((failed as { stderr: string }).stderr).not.toContain('hunter2');
  });
});

describe('the sidecar migrating at start', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('migrate-start');
  });

  afterAll(() => database?.drop());

  it('builds indexes on a connection of its own, without the request traffic statement timeout, once for two processes', async () => {
    // The first three migrations, then enough text that the 0004 index build outlasts 50 ms.
    await createMigrator(database.db).migrateTo('0003-document-search-keys');
    const user = await seedUser(database.db);
    const release = await releaseAssetColumns(database.db);
    await sql`
      INSERT INTO asset (id, ${release.names}, "ownerId", type, "originalPath", "fileCreatedAt",
        "fileModifiedAt", "localDateTime", checksum, "originalFileName")
      SELECT gen_random_uuid(), ${release.values}, ${user.id}, 'IMAGE', '/p/' || i, now(), now(), now(),
        sha256(i::text::bytea), i || '.jpg'
      FROM generate_series(1, 20000) AS i`.execute(database.db);
    await sql`
      INSERT INTO immich_ai.ocr_document ("assetId", status, source, segmenter, attempts, text, "searchVector", "searchLatin", "ownerId", "fileCreatedAt")
      SELECT id, 'done', 'inference', 'zhparser', 1, '增值税发票 invoice ' || "originalFileName",
        to_tsvector('simple', '增 值 税 发 票 invoice ' || "originalFileName"), 'invoice ' || "originalFileName", "ownerId", now()
      FROM asset`.execute(database.db);
    const start = () =>
      createSidecarApp(
        loadExtensionConfig({
          DB_URL: database.url,
          REDIS_HOSTNAME: '127.0.0.1',
          DB_QUERY_TIMEOUT_MS: '100',
          JOB_WORKER: 'false',
          NEW_ASSET_POLL_MS: '0',
        }),
        { logger: false },
      );
    const apps = await Promise.all([start(), start()]);
    // Closed only once connected: BullMQ reports an error nobody listens to when closed mid-connect.
    await Promise.all(apps.map((app) => app.app.get<Queue>(getQueueToken(QUEUE_NAME)).waitUntilReady()));
    try {
      const applied = await sql<{ name: string }>`SELECT name FROM immich_ai.migrations ORDER BY name`.execute(
        database.db,
      );
      expect(applied.rows.map((row) => row.name)).toEqual([
        '0001-ocr-documents',
        '0002-document-owner-and-date',
        '0003-document-search-keys',
        '0004-one-search-index',
        '0005-drop-failed-index',
      ]);
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });
});
