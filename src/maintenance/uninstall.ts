import { Queue } from 'bullmq';
import { Kysely, NO_MIGRATIONS, sql } from 'kysely';
import type { ExtensionConfig } from '../config/extension.config';
import { connectDatabase } from '../extension/database/create-database';
import { checkResult, createMigrator, MIGRATION_SCHEMA } from '../extension/database/migrator';
import { QUEUE_NAME, QUEUE_PREFIX } from '../extension/queue/queue.constants';

/**
 * Removes everything the extension put into Immich's database and Redis, and nothing of Immich's:
 * every migration reverted (each undoes what it made, wherever that was), then our schema with the
 * migration bookkeeping, the `chinese` text search configuration and zhparser (sql/zhparser.sql: with
 * them left in, a dump of the database no longer restores into Immich's own Postgres image), then our
 * queue. Immich's tables, including the smart_search rows CLIP wrote, stay as Immich's own data;
 * pg_trgm stays too, Immich uses it.
 */

export interface UninstallReport {
  /** Migrations reverted (or, in a dry run, that would be). */
  migrations: string[];
  /** Tables of our schema, with their row counts, before removal. */
  tables: { name: string; rows: number }[];
  /** Whether sql/zhparser.sql's configuration and extension are (were) there. */
  zhparser: boolean;
  /** Jobs in our queue before removal. */
  jobs: number;
  /** Processes still working our queue: uninstalling under them would be undone at their next start. */
  workers: number;
  done: boolean;
}

export class UninstallRefused extends Error {}

export async function uninstall(config: ExtensionConfig, { apply }: { apply: boolean }): Promise<UninstallReport> {
  const db = connectDatabase(config.database, { max: 1, applicationName: 'immich-ai uninstall', queryTimeoutMs: 0 });
  const queue = new Queue(QUEUE_NAME, {
    prefix: QUEUE_PREFIX,
    connection: { ...config.redis, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null },
  });
  queue.on('error', () => undefined);
  try {
    await queue.waitUntilReady();
    const workers = await queue.getWorkersCount();
    const counts = await queue.getJobCounts();
    const jobs = Object.values(counts).reduce((sum, n) => sum + n, 0);
    const migrator = createMigrator(db);
    const applied = (await migrator.getMigrations()).filter((m) => m.executedAt).map((m) => m.name);
    const { rows } = await sql<{ name: string }>`
      SELECT cfgname AS name FROM pg_ts_config WHERE cfgname = 'chinese'
      UNION ALL SELECT extname FROM pg_extension WHERE extname = 'zhparser'`.execute(db);
    const zhparser = rows.length > 0;
    const report = { migrations: applied.reverse(), tables: await ourTables(db), zhparser, jobs, workers, done: false };
    if (!apply) return report;
    if (workers > 0) {
      throw new UninstallRefused(
        `${workers} process${workers > 1 ? 'es are' : ' is'} still working the ${QUEUE_NAME} queue: stop the ` +
          'extension (sidecar) or put back the stock Immich server image first, or they will install it again',
      );
    }
    report.migrations = checkResult(await migrator.migrateTo(NO_MIGRATIONS));
    await sql`DROP SCHEMA IF EXISTS ${sql.id(MIGRATION_SCHEMA)} CASCADE`.execute(db);
    // No CASCADE: should anything else use them, this stops and says so rather than dropping it too.
    await sql`DROP TEXT SEARCH CONFIGURATION IF EXISTS chinese`.execute(db);
    await sql`DROP EXTENSION IF EXISTS zhparser`.execute(db);
    await queue.obliterate({ force: true });
    return { ...report, done: true };
  } finally {
    await queue.close().catch(() => undefined);
    await db.destroy();
  }
}

async function ourTables<DB>(db: Kysely<DB>): Promise<{ name: string; rows: number }[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ${MIGRATION_SCHEMA} ORDER BY 1`.execute(
    db,
  );
  const tables: { name: string; rows: number }[] = [];
  for (const { name } of rows) {
    const { rows: count } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM ${sql.id(MIGRATION_SCHEMA, name)}`.execute(db);
    tables.push({ name, rows: Number(count[0].n) });
  }
  return tables;
}
