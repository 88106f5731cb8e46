import { Command } from 'commander';
import { doctorCommand } from './doctor-command';
import { migrateCommand } from './migrate-command';
import { modelsCommand } from './models-command';
import { ocrCommand } from './ocr-command';
import { patchCommand } from './patch-command';
import { serveExtensionCommand } from './serve-extension';
import { serveGatewayCommand } from './serve-gateway';
import { serveInferenceCommand } from './serve-inference';
import { uninstallCommand } from './uninstall-command';

/**
 * The `immich-ai` command and its subcommands, built without running anything: src/cli.ts parses the
 * process's arguments with it, and the Docker checks read the commands the images call from it.
 */
export function createProgram(): Command {
  return new Command('immich-ai')
    .description('AI for Immich: Chinese + English OCR, Chinese-CLIP search, and the services that serve them')
    .showHelpAfterError()
    .addCommand(ocrCommand())
    .addCommand(
      new Command('serve')
        .description(
          'run a service: inference (OCR + cn-clip), gateway (Immich ML endpoint) or extension (search + OCR queue beside Immich)',
        )
        .addCommand(serveInferenceCommand())
        .addCommand(serveGatewayCommand())
        .addCommand(serveExtensionCommand()),
    )
    .addCommand(migrateCommand())
    .addCommand(doctorCommand())
    .addCommand(uninstallCommand())
    .addCommand(patchCommand())
    .addCommand(modelsCommand());
}
