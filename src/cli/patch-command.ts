import { Command } from 'commander';
import {
  applyPatches,
  BUNDLE_DIR,
  inspect,
  nearestVersion,
  PatchError,
  patchFiles,
  PatchReport,
  readImmichVersion,
  regenerateOpenApi,
  seriesFor,
  supportedVersions,
} from '../patching/immich-patcher';

const line = (report: PatchReport) =>
  `${report.state.padEnd(8)} ${report.patch}${report.problem ? `: ${report.problem}` : ''}\n`;

/**
 * `immich-ai patch DIR [--check] [--open-api]`: puts the extension into an Immich source tree with the
 * series for its release (patches/v<version>/, our strings merged into i18n/, the bundle in
 * server/immich-ai/). --check reports each patch as applied, pending or conflicting and changes
 * nothing; on a release without a series it checks the nearest one, hunk by hunk. --open-api, run
 * once the patched server is built, regenerates Immich's OpenAPI spec and TypeScript SDK.
 */
export function patchCommand(): Command {
  return new Command('patch')
    .description(
      `Apply the extension to an Immich source tree (series for ${supportedVersions()
        .map((version) => `v${version}`)
        .join(', ')}), then build it with Immich's own Dockerfile or pnpm`,
    )
    .argument('<dir>', 'the Immich source folder (the one holding server/ and web/)')
    .option('--check', 'only report what would be done, hunk by hunk on a release without a series; change nothing')
    .option(
      '--open-api',
      "after the patched server is built: regenerate the OpenAPI spec and TypeScript SDK with Immich's generator",
    )
    .action(async (dir: string, options: { check?: boolean; openApi?: boolean }, command: Command) => {
      try {
        if (options.openApi) {
          for (const file of await regenerateOpenApi(dir)) process.stdout.write(`regenerated ${file}\n`);
          return;
        }
        if (options.check) {
          const version = readImmichVersion(dir);
          const supported = supportedVersions();
          const known = supported.includes(version);
          const series = known ? version : nearestVersion(version, supported);
          if (!known) {
            process.stdout.write(
              `Immich ${version} has no series (supported: ${supported.map((v) => `v${v}`).join(', ')}); checking the nearest, v${series}, hunk by hunk\n`,
            );
          }
          const reports = await inspect(dir, patchFiles(series), { hunks: !known });
          for (const report of reports) {
            process.stdout.write(line(report));
            for (const hunk of report.hunks ?? []) {
              process.stdout.write(
                `  ${{ conflict: 'FAILS', applied: 'done', pending: 'ok' }[hunk.state].padEnd(6)} ${hunk.file} ${hunk.header}\n`,
              );
            }
          }
          if (reports.some((report) => report.state === 'conflict')) process.exitCode = 1;
          return;
        }
        const files = seriesFor(dir);
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
