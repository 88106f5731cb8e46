import { Logger, type LoggerService, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import type { InferenceConfig } from '../../config/inference.config';
import type { ByteBudget } from '../../shared/http/byte-budget';
import { GracefulShutdown } from '../../shared/http/graceful-shutdown';
import { LimitedExpressAdapter } from '../../shared/http/http-server';
import { WIRE_LIMITS } from '../../shared/wire/limits';
import type { InferenceEngines } from './engines';
import { InferenceModule } from './inference.module';
import { UPLOAD_MEMORY } from './inference.tokens';
import { MetricsService } from './metrics.service';

export interface InferenceAppOptions {
  /** Replace how models are opened (tests); the real engines by default. */
  engines?: Partial<InferenceEngines>;
  /** Nest's logger setting; tests pass `false` or `['error', 'warn']`. */
  logger?: LoggerService | LogLevel[] | false;
  /** Close gracefully on SIGTERM/SIGINT. On for the CLI; off in tests (one process, many apps). */
  shutdownHooks?: boolean;
}

/**
 * Builds the inference app (Contract 1 + Contract 2 + /health + /metrics) without listening, so the
 * CLI, the tests and the gateway's tests can start it on the port they like (0 for a free one).
 */
export async function createInferenceApp(
  config: InferenceConfig,
  options: InferenceAppOptions = {},
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(
    InferenceModule.forRoot(config, options.engines),
    new LimitedExpressAdapter(config.http),
    {
      logger: options.logger,
      // Forms are read by the shared reader (form.interceptor.ts); JSON is registered below with our limit.
      bodyParser: false,
    },
  );
  app.disable('x-powered-by');
  const metrics = app.get(MetricsService);
  metrics.watchUploadMemory(app.get<ByteBudget>(UPLOAD_MEMORY));
  // Order matters: shutdown refusal first (a refused request is still counted by the metrics).
  app.use(metrics.httpMiddleware);
  app.use(app.get(GracefulShutdown).middleware);
  // JSON is only /clip/txt's {"text": ...}: the text field's limit, as in a form.
  app.useBodyParser('json', { limit: WIRE_LIMITS.textBytes + 1024 });
  if (options.shutdownHooks) app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  return app;
}

/** Creates the app and listens on HTTP_HOST:HTTP_PORT; returns the app and the port really bound. */
export async function startInferenceServer(
  config: InferenceConfig,
  options: InferenceAppOptions = {},
): Promise<{ app: NestExpressApplication; port: number }> {
  const app = await createInferenceApp(config, options);
  await app.listen(config.port, config.host);
  const port = (app.getHttpServer().address() as AddressInfo).port;
  new Logger('Inference').log(
    `listening on http://${config.host}:${port} (device ${config.device}, tasks ${config.tasks.join(',')}, ` +
      `clip concurrency ${config.clipConcurrency}, queue ${config.queueSize} per kind, ` +
      `ocr ${config.ocrWorkers ? `on ${config.ocrWorkers} worker threads` : 'in the main thread'})`,
  );
  return { app, port };
}
