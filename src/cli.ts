#!/usr/bin/env node
import 'reflect-metadata';
import { describeError } from './cli/errors';
import { createProgram } from './cli/program';

// `immich-ai ocr *.jpg | head`: the reader went away, so stop quietly like any Unix tool.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

createProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`immich-ai: ${describeError(error)}\n`);
    process.exitCode = 1;
  });
