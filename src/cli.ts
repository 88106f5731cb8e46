#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { describeError } from './cli/errors';
import { migrateCommand } from './cli/migrate-command';
import { modelsCommand } from './cli/models-command';
import { patchCommand } from './cli/patch-command';
import { ocrCommand } from './cli/ocr-command';
import { serveExtensionCommand } from './cli/serve-extension';
import { serveGatewayCommand } from './cli/serve-gateway';
import { serveInferenceCommand } from './cli/serve-inference';

// `immich-ai ocr *.jpg | head`: the reader went away, so stop quietly like any Unix tool.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command('immich-ai')
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
  .addCommand(patchCommand())
  .addCommand(modelsCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`immich-ai: ${describeError(error)}\n`);
  process.exitCode = 1;
});
