import { Logger } from '@nestjs/common';
import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import type { ExtensionDatabase } from './schema';

/**
 * The sidecar's own connection pool to Immich's database. A connection that dies while idle (Postgres
 * restarted) is logged and replaced on next use instead of taking the process down.
 */
export function createDatabase(
  url: string,
  { max = 10, applicationName = 'immich-ai' } = {},
): Kysely<ExtensionDatabase> {
  const logger = new Logger('Database');
  const pool = new Pool({
    connectionString: url,
    max,
    application_name: applicationName,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    // A statement that runs this long is a bug or an attack, not a search.
    statement_timeout: 60_000,
  });
  pool.on('error', (error) => logger.warn(`idle database connection lost: ${error.message}`));
  return new Kysely<ExtensionDatabase>({ dialect: new PostgresDialect({ pool }) });
}
