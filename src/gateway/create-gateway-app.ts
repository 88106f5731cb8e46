import { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { GatewayConfig } from '../config/gateway.config';
import { GatewayModule } from './gateway.module';

/**
 * The gateway as a Nest app, not yet listening: `serve gateway` calls `listen(config.port, config.host)`,
 * tests `listen(0, '127.0.0.1')`.
 */
export async function createGatewayApp(
  config: GatewayConfig,
  options: Pick<NestApplicationOptions, 'logger'> = {},
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(config), {
    // /predict must reach the controller as an unread stream; nothing here parses bodies.
    bodyParser: false,
    ...options,
  });
  app.disable('x-powered-by');
  return app;
}
