import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, Migration, MigrationProvider, MigrationResultSet, Migrator } from 'kysely';

/**
 * Our schema migrations (migrations/NNNN-name.ts), tracked in immich_ai.migrations: never in Immich's
 * own kysely_migrations table, so Immich's migrator and ours never see each other's history. Kysely's
 * migrator takes an advisory lock, so several processes starting at once apply each migration once.
 */

export const MIGRATION_SCHEMA = 'immich_ai';
/** dist/extension/database -> dist/migrations once built; src/extension/database -> migrations/ under ts-jest. */
export const MIGRATIONS_FOLDER = join(__dirname, '..', '..', '..', 'migrations');
const BUILT_MIGRATIONS_FOLDER = join(__dirname, '..', '..', 'migrations');

class FolderMigrationProvider implements MigrationProvider {
  constructor(private readonly folder: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const file of readdirSync(this.folder).sort()) {
      const match = /^(\d{4}-[\w-]+)\.(js|ts)$/.exec(file);
      if (!match || file.endsWith('.d.ts')) continue;
      // require, not import(): the same code loads compiled .js and, under ts-jest, the .ts sources.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      migrations[match[1]] = require(join(this.folder, file)) as Migration;
    }
    return migrations;
  }
}

export function migrationsFolder(): string {
  return __filename.endsWith('.ts') ? MIGRATIONS_FOLDER : BUILT_MIGRATIONS_FOLDER;
}

/** Migrations compiled into a bundle (the Immich server's copy), which has no migrations folder beside it. */
let bundled: Record<string, Migration> | undefined;
export function setBundledMigrations(migrations: Record<string, Migration>): void {
  bundled = migrations;
}

export function createMigrator<DB>(db: Kysely<DB>, folder = migrationsFolder()): Migrator {
  return new Migrator({
    db,
    provider: bundled ? { getMigrations: () => Promise.resolve(bundled!) } : new FolderMigrationProvider(folder),
    migrationTableSchema: MIGRATION_SCHEMA,
    migrationTableName: 'migrations',
    migrationLockTableName: 'migrations_lock',
  });
}

export class MigrationError extends Error {}

/** Throws a MigrationError naming the migration that failed and why; returns what ran. */
export function checkResult({ error, results }: MigrationResultSet): string[] {
  const failed = results?.find((result) => result.status === 'Error');
  if (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(
      failed ? `migration ${failed.migrationName} failed: ${reason}` : `migrations failed: ${reason}`,
    );
  }
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}

export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<string[]> {
  return checkResult(await createMigrator(db).migrateToLatest());
}
