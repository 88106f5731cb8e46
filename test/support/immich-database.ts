import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, sql } from 'kysely';
import { Client } from 'pg';
import { createDatabase } from '../../src/extension/database/create-database';
import type { ExtensionDatabase } from '../../src/extension/database/schema';
import { ImmichRelease, immichBuild, major, releaseEnv, TEST_IMMICH_VERSION } from './immich-release';

/**
 * Test databases with a real Immich schema (v3.1.0, or v2.4.1 with IMMICH_VERSION=2.4.1): Immich's own
 * migrations (from the server that scripts/immich-server.sh builds) create a template database once per
 * release; each test file gets a fresh copy.
 */

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The template of a release; the suffix is bumped when the recipe changes, so an old one is not reused. */
export const templateDb = (version: ImmichRelease = TEST_IMMICH_VERSION): string =>
  `immich_ai_template_v${version.replace(/\./g, '_')}_r1`;
export const TEMPLATE_DB = templateDb();
const ROOT = join(__dirname, '..', '..');

/** The URL of a database on the test Postgres. */
export const dbUrl = (name: string): string => {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
};

/** Runs `fn` with a connection to the server's `postgres` database (to create and drop databases). */
export async function withAdminClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates the template once per machine (about 5-10 s); later runs find it. Called by jest's globalSetup. */
export async function ensureTemplateDatabase(version: ImmichRelease = TEST_IMMICH_VERSION): Promise<void> {
  const template = templateDb(version);
  const exists = await withAdminClient(async (client) => {
    const { rows: extensions } = await client.query<{ name: string }>(
      "SELECT name FROM pg_available_extensions WHERE name IN ('vector', 'zhparser')",
    );
    const missing = ['vector', 'zhparser'].filter((name) => !extensions.some((row) => row.name === name));
    if (missing.length > 0) {
      throw new Error(`Postgres lacks ${missing.join(' and ')}: run scripts/install-pg-extensions.sh (as root) first`);
    }
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    return rowCount === 1;
  });
  if (exists) return;

  const immichDir = immichBuild('dir', version);
  const building = `${template}_${process.pid}`;
  await withAdminClient((client) => client.query(`CREATE DATABASE "${building}"`));
  // Immich's own migration runner: the schema exactly as the server creates it on first start (v2's
  // dist/bin/migrations.js; v3's `migrations:run` script, @immich/sql-tools over dist/schema/migrations).
  const server = join(immichDir, 'server');
  const [command, args] =
    major(version) >= 3
      ? [
          'node',
          [
            join(server, 'node_modules', '@immich', 'sql-tools', 'sql-tools.mjs'),
            '-u',
            dbUrl(building),
            'migrations',
            'run',
          ],
        ]
      : [process.execPath, [join(server, 'dist', 'bin', 'migrations.js'), 'run']];
  execFileSync(command, args, {
    cwd: server,
    env: releaseEnv(version, {
      ...process.env,
      DB_URL: dbUrl(building),
      DB_VECTOR_EXTENSION: 'pgvector',
      NO_COLOR: '1',
    }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const client = new Client({ connectionString: dbUrl(building) });
  await client.connect();
  try {
    await client.query(readFileSync(join(ROOT, 'sql', 'zhparser.sql'), 'utf8'));
  } finally {
    await client.end();
  }
  await withAdminClient(async (client) => {
    // Another jest run may have finished first; either template is fine.
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (rowCount === 1) await client.query(`DROP DATABASE "${building}"`);
    else await client.query(`ALTER DATABASE "${building}" RENAME TO "${template}"`);
  });
}

export interface TestDatabase {
  name: string;
  url: string;
  db: Kysely<ExtensionDatabase>;
  drop(): Promise<void>;
}

/** Drops a database, closing whatever connections it still has. */
export async function dropDatabase(name: string): Promise<void> {
  await withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

let counter = 0;

/** A fresh database with Immich's schema (and without ours: tests run our migrations themselves). */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `immich_ai_${label.replace(/\W/g, '_').slice(0, 20)}_${process.pid}_${counter++}`.toLowerCase();
  await withAdminClient(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${name}"`);
    await client.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DB}"`);
  });
  const url = dbUrl(name);
  // Tests seed thousands of rows at once: no request-traffic statement timeout here.
  const db = createDatabase(url, { max: 4, applicationName: `immich-ai-test-${name}`, queryTimeoutMs: 0 });
  return {
    name,
    url,
    db,
    drop: async () => {
      await db.destroy();
      await dropDatabase(name);
    },
  };
}

// ---- seeding, the way Immich stores things (v2.4.1 and v3.1.0 differ in the asset table) ----

export interface SeededUser {
  id: string;
  email: string;
  /** An API key with every permission ("all"), in clear; Immich stores its SHA-256. */
  apiKey: string;
}

/** A secret's SHA-256 as Immich stores it: base64 text in v2, raw bytes (bytea) in v3. */
async function storedHash(db: Kysely<ExtensionDatabase>, secret: string): Promise<string | Buffer> {
  const digest = createHash('sha256').update(secret).digest();
  return (await assetColumns(db)).has('checksumAlgorithm') ? digest : digest.toString('base64');
}

export async function seedUser(
  db: Kysely<ExtensionDatabase>,
  { email = `${randomUUID()}@example.com`, isAdmin = false, name = 'Test User' } = {},
): Promise<SeededUser> {
  const id = randomUUID();
  await sql`INSERT INTO "user" (id, email, name, "isAdmin") VALUES (${id}, ${email}, ${name}, ${isAdmin})`.execute(db);
  const apiKey = await seedApiKey(db, id, ['all']);
  return { id, email, apiKey };
}

export async function seedApiKey(
  db: Kysely<ExtensionDatabase>,
  userId: string,
  permissions: string[],
): Promise<string> {
  const secret = randomBytes(32).toString('base64url');
  await sql`INSERT INTO api_key (name, key, "userId", permissions) VALUES ('test', ${await storedHash(db, secret)}, ${userId}, ${permissions})`.execute(
    db,
  );
  return secret;
}

/** A session token in clear, as Immich hands it to the browser (cookie immich_access_token). */
export async function seedSession(
  db: Kysely<ExtensionDatabase>,
  userId: string,
  { expiresAt = null as Date | null, pinExpiresAt = null as Date | null } = {},
) {
  const token = randomBytes(32).toString('base64url');
  await sql`INSERT INTO session (token, "userId", "expiresAt", "pinExpiresAt")
    VALUES (${await storedHash(db, token)}, ${userId}, ${expiresAt}, ${pinExpiresAt})`.execute(db);
  return token;
}

export interface SeedAssetOptions {
  ownerId: string;
  /** Preview path as Immich stores it (absolute, under IMMICH_MEDIA_LOCATION); null = no preview yet. */
  previewPath?: string | null;
  fileCreatedAt?: Date;
  visibility?: 'timeline' | 'archive' | 'hidden' | 'locked';
  deletedAt?: Date | null;
  originalFileName?: string;
}

export async function seedAsset(db: Kysely<ExtensionDatabase>, options: SeedAssetOptions): Promise<string> {
  const id = randomUUID();
  const created = options.fileCreatedAt ?? new Date('2024-01-01T00:00:00Z');
  const fileName = options.originalFileName ?? `${id}.jpg`;
  // v2 has the uploading device's ids; v3 dropped them and requires the checksum's algorithm.
  const v3 = (await assetColumns(db)).has('checksumAlgorithm');
  const device = v3 ? sql`'sha1'` : sql`${fileName}, 'test'`;
  await sql`
    INSERT INTO asset (id, ${sql.raw(v3 ? '"checksumAlgorithm"' : '"deviceAssetId", "deviceId"')}, "ownerId", type,
      "originalPath", "fileCreatedAt", "fileModifiedAt", "localDateTime", checksum, "originalFileName", visibility, "deletedAt")
    VALUES (${id}, ${device}, ${options.ownerId}, 'IMAGE', ${`/data/upload/${fileName}`}, ${created}, ${created},
      ${created}, ${randomBytes(20)}, ${fileName}, ${options.visibility ?? 'timeline'}::asset_visibility_enum, ${options.deletedAt ?? null})`.execute(
    db,
  );
  if (options.previewPath) {
    await sql`INSERT INTO asset_file ("assetId", type, path) VALUES (${id}, 'preview', ${options.previewPath})`.execute(
      db,
    );
  }
  return id;
}

/**
 * For bulk inserts into Immich's asset table, the columns one release requires beyond those both have,
 * with a value for every row: v2's uploading device ids, v3's checksum algorithm.
 */
export async function releaseAssetColumns(db: Kysely<ExtensionDatabase>) {
  const v3 = (await assetColumns(db)).has('checksumAlgorithm');
  return {
    names: sql.raw(v3 ? '"checksumAlgorithm"' : '"deviceAssetId", "deviceId"'),
    values: sql.raw(v3 ? "'sha1'" : "gen_random_uuid()::text, 'test'"),
  };
}

const columnsByDb = new WeakMap<object, Promise<Set<string>>>();

/** The columns of Immich's asset table in this database (they differ between v2 and v3). */
function assetColumns(db: Kysely<ExtensionDatabase>): Promise<Set<string>> {
  if (!columnsByDb.has(db)) {
    columnsByDb.set(
      db,
      sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns WHERE table_name = 'asset'`
        .execute(db)
        .then(({ rows }) => new Set(rows.map((row) => row.column_name))),
    );
  }
  return columnsByDb.get(db)!;
}
