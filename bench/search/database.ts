/**
 * The benchmark's database: a copy of the template with Immich v2.4.1's real schema (the one the tests
 * use), our migrations on top, and helpers to drop indexes before a bulk load and rebuild them after,
 * timing each, with the definitions Postgres itself reports (so they are exactly the original ones).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Pool } from 'pg';
import ts from 'typescript';
import { migrateToLatest, migrationsFolder } from '../../src/extension/database/migrator';
import type { ExtensionDatabase } from '../../src/extension/database/schema';
import { dbUrl, PG_ADMIN_URL, TEMPLATE_DB, withAdminClient as admin } from '../../test/support/immich-database';

/** The repository's root (the folder with package.json), from the sources or from dist-bench/. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export { dbUrl };

export const databaseExists = (name: string): Promise<boolean> =>
  admin(async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);

/** A fresh copy of the template (an older database of the same name is dropped first). */
export async function createBenchDatabase(name: string): Promise<void> {
  await admin(async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEMPLATE_DB]);
    if (rowCount !== 1) {
      throw new Error(
        `template database ${TEMPLATE_DB} not found on ${PG_ADMIN_URL}: run \`npm test\` once (its global setup builds it from Immich v2.4.1's migrations)`,
      );
    }
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DB}"`);
  });
}

export const dropBenchDatabase = (name: string): Promise<void> =>
  admin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

/** A connection pool without a statement timeout, for loading and index builds. */
export function loaderDatabase(name: string): Kysely<ExtensionDatabase> {
  const pool = new Pool({ connectionString: dbUrl(name), max: 3, application_name: 'immich-ai-bench-search-load' });
  return new Kysely<ExtensionDatabase>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Our migrations, with migrateToLatest itself. Compiled, the migrator looks for built migrations beside
 * the build (dist-bench/src/migrations, which tsconfig.bench.json does not produce): they are transpiled
 * there from migrations/*.ts first, unchanged.
 */
export async function runMigrations(db: Kysely<ExtensionDatabase>): Promise<string[]> {
  const source = join(repoRoot(), 'migrations');
  const target = migrationsFolder();
  if (target !== source) {
    mkdirSync(target, { recursive: true });
    for (const file of readdirSync(source).filter((f) => /^\d{4}-[\w-]+\.ts$/.test(f))) {
      const { outputText } = ts.transpileModule(readFileSync(join(source, file), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      });
      writeFileSync(join(target, file.replace(/\.ts$/, '.js')), outputText);
    }
  }
  return migrateToLatest(db);
}

export interface IndexDefinition {
  table: string;
  name: string;
  definition: string;
}

/** Drops a table's indexes that back no constraint (primary keys and unique constraints stay) and returns their definitions. */
export async function dropIndexes(db: Kysely<ExtensionDatabase>, table: string): Promise<IndexDefinition[]> {
  const { rows } = await sql<IndexDefinition>`
    SELECT ${table} AS table, i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
    WHERE x.indrelid = ${table}::regclass
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
    ORDER BY i.relname`.execute(db);
  for (const index of rows) await sql`DROP INDEX ${sql.raw(qualified(table, index.name))}`.execute(db);
  return rows;
}

function qualified(table: string, index: string): string {
  const schema = table.includes('.') ? table.split('.')[0] : 'public';
  return `${schema}."${index}"`;
}

export interface IndexBuild {
  table: string;
  name: string;
  seconds: number;
}

/** Creates each index again from its definition, timing each build. */
export async function buildIndexes(
  db: Kysely<ExtensionDatabase>,
  indexes: readonly IndexDefinition[],
  log: (message: string) => void,
): Promise<IndexBuild[]> {
  const builds: IndexBuild[] = [];
  // One connection for the session settings: enough memory for each build to run in memory.
  await db.connection().execute(async (conn) => {
    await sql`SET maintenance_work_mem = '2GB'`.execute(conn);
    for (const index of indexes) {
      const started = performance.now();
      await sql.raw(index.definition).execute(conn);
      const seconds = (performance.now() - started) / 1000;
      builds.push({ table: index.table, name: index.name, seconds });
      log(`built ${index.name} in ${seconds.toFixed(1)} s`);
    }
  });
  return builds;
}

export interface RelationSize {
  name: string;
  kind: 'table' | 'index';
  table: string;
  bytes: number;
}

/** Sizes of the tables the engines read (heap + TOAST) and of every index on them. */
export async function relationSizes(db: Kysely<ExtensionDatabase>, tables: readonly string[]): Promise<RelationSize[]> {
  const { rows } = await sql<RelationSize>`
    SELECT t.name, 'table' AS kind, t.name AS table, pg_table_size(t.name::regclass)::float8 AS bytes
    FROM unnest(${tables}::text[]) WITH ORDINALITY AS t(name, n)
    UNION ALL
    SELECT i.relname, 'index', t.name, pg_relation_size(x.indexrelid)::float8
    FROM unnest(${tables}::text[]) AS t(name)
    JOIN pg_index x ON x.indrelid = t.name::regclass
    JOIN pg_class i ON i.oid = x.indexrelid`.execute(db);
  return rows;
}

/**
 * The settings of Immich's own Postgres image (ghcr.io/immich-app/postgres, postgresql.ssd.conf, the
 * default DB_STORAGE_TYPE=SSD), which every docker compose install of Immich runs. Those a database
 * can carry are set on the bench database; shared_buffers (512MB there) needs a server restart, so
 * it is only reported.
 */
export const IMMICH_IMAGE_SETTINGS = { work_mem: '16MB', random_page_cost: '1.2', effective_io_concurrency: '200' };
export const IMMICH_IMAGE_SHARED_BUFFERS_MB = 512;

/** `immich`: IMMICH_IMAGE_SETTINGS on the database; `server`: the server's own (what is set is taken off). */
export const applyDatabaseSettings = (name: string, which: 'immich' | 'server'): Promise<void> =>
  admin(async (client) => {
    await client.query(`ALTER DATABASE "${name}" RESET ALL`);
    if (which === 'server') return;
    for (const [setting, value] of Object.entries(IMMICH_IMAGE_SETTINGS))
      await client.query(`ALTER DATABASE "${name}" SET ${setting} = '${value}'`);
  });
