import { Command, Option } from 'commander';
import { InferenceConfigError, loadInferenceConfig } from '../config/inference.config';
import { startInferenceServer } from '../inference/http/inference-app';
import { exitByDeadline, parsePort } from './serve-common';

interface ServeInferenceOptions {
  port?: number;
  device?: 'cpu' | 'cuda';
  preload?: boolean;
}

/**
 * `immich-ai serve inference [--port N] [--device cpu|cuda] [--preload]`: OCR and cn-clip over
 * Immich's ML protocol and the MT-Photos API. Everything else comes from the environment (see
 * src/config/inference.config.ts); the flags only override HTTP_PORT, DEVICE and PRELOAD.
 * SIGTERM/SIGINT close it gracefully: requests in flight finish, then the models are released.
 */
export function serveInferenceCommand(): Command {
  return new Command('inference')
    .description('Serve OCR and cn-clip: Immich ML protocol (/predict) and MT-Photos API (/ocr, /clip/*)')
    .option('--port <port>', 'port to listen on (overrides $HTTP_PORT, default 8060)', parsePort)
    .addOption(new Option('--device <device>', 'cpu or cuda (overrides $DEVICE)').choices(['cpu', 'cuda']))
    .option('--preload', 'load every model at start, CLIP too (overrides $PRELOAD, default: OCR only)')
    .action(async (options: ServeInferenceOptions, command: Command) => {
      let config;
      try {
        config = loadInferenceConfig({
          ...process.env,
          ...(options.port !== undefined && { HTTP_PORT: String(options.port) }),
          ...(options.device && { DEVICE: options.device }),
          ...(options.preload && { PRELOAD: 'true' }),
        });
      } catch (error) {
        if (error instanceof InferenceConfigError) {
          command.error(error.message, { exitCode: 1, code: 'immich-ai.inference.config' });
        }
        throw error;
      }
      exitByDeadline(config.shutdownTimeoutMs);
      await startInferenceServer(config, { shutdownHooks: true });
    });
}
