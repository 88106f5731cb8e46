import { Command } from 'commander';
import { connectDatabase } from '../extension/database/create-database';
import { checkResult, createMigrator } from '../extension/database/migrator';
import { extensionConfigOrExit } from './serve-common';

/**
 * `immich-ai migrate [--down | --status]`: our schema (immich_ai) in Immich's database, read from the
 * same variables as the extension (DB_URL or DB_HOSTNAME, ...). Tracked in immich_ai.migrations.
 */
export function migrateCommand(): Command {
  return new Command('migrate')
    .description("Apply the extension's database migrations (schema immich_ai in Immich's database)")
    .option('--down', 'revert the latest migration')
    .option('--status', 'list migrations and whether each is applied; change nothing')
    .action(async (options: { down?: boolean; status?: boolean }, command: Command) => {
      if (options.down && options.status) command.error('--down and --status do not go together', { exitCode: 2 });
      const config = extensionConfigOrExit(command);
      const db = connectDatabase(config.database, {
        max: 1,
        applicationName: 'immich-ai migrate',
        queryTimeoutMs: 0,
      });
      try {
        const migrator = createMigrator(db);
        if (options.status) {
          for (const migration of await migrator.getMigrations()) {
            const when = migration.executedAt ? `applied ${migration.executedAt.toISOString()}` : 'pending';
            process.stdout.write(`${migration.name}  ${when}\n`);
          }
          return;
        }
        const done = checkResult(options.down ? await migrator.migrateDown() : await migrator.migrateToLatest());
        if (done.length === 0) process.stdout.write(options.down ? 'nothing to revert\n' : 'already up to date\n');
        for (const name of done) process.stdout.write(`${options.down ? 'reverted' : 'applied'} ${name}\n`);
      } finally {
        await db.destroy();
      }
    });
}
