import { Logger } from '@nestjs/common';
import { Command } from 'commander';
import { createSidecarApp } from '../extension/sidecar/create-sidecar-app';
import { extensionConfigOrExit } from './serve-common';

/**
 * `immich-ai serve extension`: the extension beside a stock Immich, on Immich's Postgres and Redis
 * (Immich's own variable names; see src/config/extension.config.ts). Runs our migrations, then serves
 * the API on PORT (2284) and works the OCR/CLIP queue. SIGTERM lets running jobs finish first.
 */
export function serveExtensionCommand(): Command {
  return new Command('extension')
    .description('Serve the extension beside a stock Immich: OCR queue, `ocr:` search, mixed ranking, regenerate')
    .option('--no-worker', 'only serve the API and queue jobs; run them elsewhere (overrides $JOB_WORKER)')
    .action(async (options: { worker: boolean }, command: Command) => {
      const config = extensionConfigOrExit(command, {
        ...process.env,
        ...(options.worker === false ? { JOB_WORKER: 'false' } : {}),
      });
      const logger = new Logger('Extension');
      const sidecar = await createSidecarApp(config);
      await sidecar.app.listen(config.port, config.host);
      logger.log(`listening on ${await sidecar.app.getUrl()} (API docs at /api/docs)`);

      const stop = (signal: string) => {
        logger.log(`${signal}: finishing running jobs, then closing`);
        setTimeout(() => {
          logger.error(`still closing after ${config.shutdownTimeoutMs} ms; exiting (unfinished jobs run again later)`);
          process.exit(1);
        }, config.shutdownTimeoutMs).unref();
        void sidecar.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
