import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, sql } from 'kysely';
import { Client } from 'pg';
import { createDatabase } from '../../src/extension/database/create-database';
import type { ExtensionDatabase } from '../../src/extension/database/schema';

/**
 * Test databases with Immich v2.4.1's real schema: Immich's own migrations (from the server that
 * scripts/immich-server.sh builds) create a template database once; each test file gets a fresh copy.
 */

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Bumped when the template's recipe changes, so an old template is not reused. */
export const TEMPLATE_DB = 'immich_ai_template_v2_4_1_r1';
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

/** Creates the template once per machine (about 5 s); later runs find it. Called by jest's globalSetup. */
export async function ensureTemplateDatabase(): Promise<void> {
  const exists = await withAdminClient(async (client) => {
    const { rows: extensions } = await client.query<{ name: string }>(
      "SELECT name FROM pg_available_extensions WHERE name IN ('vector', 'zhparser')",
    );
    const missing = ['vector', 'zhparser'].filter((name) => !extensions.some((row) => row.name === name));
    if (missing.length > 0) {
      throw new Error(
        `Postgres lacks ${missing.join(' and ')}: run ../shared/vendor/install-pg-extensions.sh (as root) first`,
      );
    }
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEMPLATE_DB]);
    return rowCount === 1;
  });
  if (exists) return;

  const immichDir = execFileSync(join(ROOT, 'scripts', 'immich-server.sh'), ['dir'], { encoding: 'utf8' }).trim();
  const building = `${TEMPLATE_DB}_${process.pid}`;
  await withAdminClient((client) => client.query(`CREATE DATABASE "${building}"`));
  // Immich's own migration runner: the schema exactly as a v2.4.1 server creates it on first start.
  execFileSync(process.execPath, [join(immichDir, 'server', 'dist', 'bin', 'migrations.js'), 'run'], {
    cwd: join(immichDir, 'server'),
    env: { ...process.env, DB_URL: dbUrl(building), DB_VECTOR_EXTENSION: 'pgvector', NO_COLOR: '1' },
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
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEMPLATE_DB]);
    if (rowCount === 1) await client.query(`DROP DATABASE "${building}"`);
    else await client.query(`ALTER DATABASE "${building}" RENAME TO "${TEMPLATE_DB}"`);
  });
}

export interface TestDatabase {
  name: string;
  url: string;
  db: Kysely<ExtensionDatabase>;
  drop(): Promise<void>;
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
      await withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

// ---- seeding, the way Immich v2.4.1 stores things ----

export interface SeededUser {
  id: string;
  email: string;
  /** An API key with every permission ("all"), in clear; Immich stores its SHA-256. */
  apiKey: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64');

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
  await sql`INSERT INTO api_key (name, key, "userId", permissions) VALUES ('test', ${sha256(secret)}, ${userId}, ${permissions})`.execute(
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
    VALUES (${sha256(token)}, ${userId}, ${expiresAt}, ${pinExpiresAt})`.execute(db);
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
  await sql`
    INSERT INTO asset (id, "deviceAssetId", "ownerId", "deviceId", type, "originalPath", "fileCreatedAt", "fileModifiedAt",
      "localDateTime", checksum, "originalFileName", visibility, "deletedAt")
    VALUES (${id}, ${fileName}, ${options.ownerId}, 'test', 'IMAGE', ${`/data/upload/${fileName}`}, ${created}, ${created},
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
