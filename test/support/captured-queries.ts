import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import type { ExtensionDatabase } from '../../src/extension/database/schema';

/**
 * A Kysely on one connection that keeps every statement as it is sent, with its parameters: to
 * EXPLAIN what a repository really runs, or count it. Empty `captured` (length = 0) between runs.
 */
export function capturingDatabase(url: string): { db: Kysely<ExtensionDatabase>; captured: CompiledQuery[] } {
  const captured: CompiledQuery[] = [];
  const db = new Kysely<ExtensionDatabase>({
    dialect: new PostgresDialect({ pool: new Pool({ connectionString: url, max: 1 }) }),
    log: (event) => {
      if (event.level === 'query') captured.push(event.query);
    },
  });
  return { db, captured };
}
