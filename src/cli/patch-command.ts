import { Command } from 'commander';
import {
  applyPatches,
  BUNDLE_DIR,
  checkImmichTree,
  defaultPatchFiles,
  inspect,
  PatchError,
} from '../patching/immich-patcher';

/**
 * `immich-ai patch DIR [--check]`: puts the extension into an Immich v2.4.1 source tree (patches under
 * patches/, the bundle in server/immich-ai/). --check reports each patch as applied, pending or
 * conflicting and changes nothing.
 */
export function patchCommand(): Command {
  return new Command('patch')
    .description(
      "Apply the extension to an Immich v2.4.1 source tree (then build it with Immich's own Dockerfile or pnpm)",
    )
    .argument('<dir>', 'the Immich source folder (the one holding server/ and web/)')
    .option('--check', 'only report what would be done; change nothing')
    .action(async (dir: string, options: { check?: boolean }, command: Command) => {
      const files = defaultPatchFiles();
      try {
        if (options.check) {
          checkImmichTree(dir);
          const reports = await inspect(dir, files);
          for (const report of reports)
            process.stdout.write(
              `${report.state.padEnd(8)} ${report.patch}${report.problem ? `: ${report.problem}` : ''}\n`,
            );
          if (reports.some((report) => report.state === 'conflict')) process.exitCode = 1;
          return;
        }
        const reports = await applyPatches(dir, files);
        for (const report of reports) {
          process.stdout.write(`${report.state === 'applied' ? 'already applied' : 'applied'} ${report.patch}\n`);
        }
        process.stdout.write(`copied the extension to ${BUNDLE_DIR}/\n`);
      } catch (error) {
        if (error instanceof PatchError) command.error(`immich-ai patch: ${error.message}`, { exitCode: 1 });
        throw error;
      }
    });
}
