import { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { GatewayConfig } from '../config/gateway.config';
import { GracefulShutdown } from '../shared/http/graceful-shutdown';
import { LimitedExpressAdapter } from '../shared/http/http-server';
import { GatewayModule } from './gateway.module';

/**
 * The gateway as a Nest app, not yet listening: `serve gateway` calls `listen(config.port, config.host)`,
 * tests `listen(0, '127.0.0.1')`. `shutdownHooks` closes it gracefully on SIGTERM/SIGINT (the CLI).
 */
export async function createGatewayApp(
  config: GatewayConfig,
  options: Pick<NestApplicationOptions, 'logger'> & { shutdownHooks?: boolean } = {},
): Promise<INestApplication> {
  const { shutdownHooks, ...nestOptions } = options;
  const app = await NestFactory.create<NestExpressApplication>(
    GatewayModule.forRoot(config),
    new LimitedExpressAdapter(config.http),
    {
      // /predict must reach the controller as an unread stream; nothing here parses bodies.
      bodyParser: false,
      ...nestOptions,
    },
  );
  app.disable('x-powered-by');
  app.use(app.get(GracefulShutdown).middleware);
  if (shutdownHooks) app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  return app;
}
