import { Command } from 'commander';
import { MIGRATION_SCHEMA } from '../extension/database/migrator';
import { QUEUE_NAME, QUEUE_PREFIX } from '../extension/queue/queue.constants';
import { uninstall, UninstallRefused } from '../maintenance/uninstall';
import { extensionConfigOrExit } from './serve-common';

/**
 * `immich-ai uninstall [--yes]`: without --yes, says what would be removed; with it, removes our schema
 * and queue from Immich's database and Redis (src/maintenance/uninstall.ts), leaving Immich's own data.
 */
export function uninstallCommand(): Command {
  return new Command('uninstall')
    .description(
      `Remove the extension's data from Immich's database (schema ${MIGRATION_SCHEMA}) and Redis (queue ${QUEUE_NAME}); Immich's own tables stay`,
    )
    .option('--yes', 'really remove it (without: only say what would go)')
    .action(async (options: { yes?: boolean }, command: Command) => {
      const config = extensionConfigOrExit(command);
      try {
        const report = await uninstall(config, { apply: options.yes === true });
        const write = (line: string) => process.stdout.write(`${line}\n`);
        // "would drop ..." for a dry run, "dropped ..." once done.
        const act = (now: string, past: string) => (report.done ? past : `would ${now}`);
        for (const name of report.migrations) write(`${act('revert', 'reverted')} ${name}`);
        const tables = report.tables.map((t) => `${t.name}: ${t.rows} rows`).join(', ');
        write(`${act('drop', 'dropped')} schema ${MIGRATION_SCHEMA}${tables ? ` (${tables})` : ''}`);
        if (report.zhparser) {
          write(`${act('drop', 'dropped')} the text search configuration chinese and zhparser (sql/zhparser.sql)`);
        }
        write(`${act('remove', 'removed')} queue ${QUEUE_NAME} (${QUEUE_PREFIX}) from Redis: ${report.jobs} jobs`);
        write("Immich's own tables are not touched.");
        if (!report.done) {
          if (report.workers > 0) write(`${report.workers} worker(s) still use the queue: stop them first.`);
          write('Run again with --yes to do it.');
        }
      } catch (error) {
        if (error instanceof UninstallRefused) command.error(`immich-ai uninstall: ${error.message}`, { exitCode: 1 });
        throw error;
      }
    });
}
