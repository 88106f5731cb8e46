#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { describeError } from './cli/errors';
import { ocrCommand } from './cli/ocr-command';

const program = new Command('immich-ai')
  .description('AI for Immich: Chinese + English OCR, Chinese-CLIP search, and the services that serve them')
  .showHelpAfterError()
  .addCommand(ocrCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`immich-ai: ${describeError(error)}\n`);
  process.exitCode = 1;
});
