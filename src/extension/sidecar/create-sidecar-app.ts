import { join } from 'node:path';
import { BullModule } from '@nestjs/bullmq';
import { INestApplication, Logger, LoggerService, LogLevel, Module, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Kysely } from 'kysely';
import { ImmichCredentialsAuthenticator } from '../auth/immich-credentials.authenticator';
import { createDatabase } from '../database/create-database';
import { EXTENSION_DB } from '../database/database.tokens';
import { migrateToLatest } from '../database/migrator';
import type { ExtensionDatabase } from '../database/schema';
import { ExtensionModule } from '../extension.module';
import { QUEUE_PREFIX } from '../queue/queue.constants';
import { chooseSegmenter } from '../search/segmenter';
import { SidecarErrorsFilter } from './errors.filter';
import type { ExtensionConfig } from '../../config/extension.config';

export interface SidecarApp {
  app: INestApplication;
  db: Kysely<ExtensionDatabase>;
  /** Stops taking requests, lets running jobs finish, then closes the pool. */
  close(): Promise<void>;
}

/**
 * The standalone host beside a stock Immich (`immich-ai serve extension`): our migrations, then the
 * extension module on its own database pool and Redis connection, with Immich's own credentials.
 * Not yet listening: the caller does `app.listen(config.port, config.host)`.
 */
export async function createSidecarApp(
  config: ExtensionConfig,
  { logger, migrate = true }: { logger?: LoggerService | LogLevel[] | false; migrate?: boolean } = {},
): Promise<SidecarApp> {
  const db = createDatabase(config.database.url);
  try {
    if (migrate) {
      const applied = await migrateToLatest(db);
      if (applied.length > 0) new Logger('Migrations').log(`applied ${applied.join(', ')}`);
    }
    const segmenter = await chooseSegmenter(db, config.segmenter);
    const redis = {
      host: config.redis.host,
      port: config.redis.port,
      db: config.redis.db,
      username: config.redis.username,
      password: config.redis.password,
    };

    @Module({
      imports: [
        BullModule.forRoot({
          prefix: QUEUE_PREFIX,
          // API calls fail fast (503) while Redis is away instead of hanging until it returns.
          connection: { ...redis, enableOfflineQueue: false, maxRetriesPerRequest: 1 },
        }),
        ExtensionModule.forRoot({
          config,
          segmenter,
          database: { provide: EXTENSION_DB, useValue: db },
          authenticator: ImmichCredentialsAuthenticator,
          // The worker waits out a Redis restart and carries on.
          workerConnection: { ...redis, maxRetriesPerRequest: null },
        }),
      ],
    })
    class SidecarModule {}

    const app = await NestFactory.create<NestExpressApplication>(SidecarModule, {
      bodyParser: false,
      // Throw instead of exiting the process: the CLI reports it, a test fails on it.
      abortOnError: false,
      ...(logger !== undefined ? { logger } : {}),
    });
    app.disable('x-powered-by');
    // Our bodies are small JSON (a list of up to 1000 ids); refused from Content-Length when larger.
    app.useBodyParser('json', { limit: '128kb' });
    app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
    app.useGlobalFilters(new SidecarErrorsFilter());
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('immich-ai extension')
        .setDescription('OCR search, mixed OCR + CLIP ranking and per-photo regenerate beside Immich')
        .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key' }, 'api_key')
        .build(),
    );
    SwaggerModule.setup('api/docs', app, document);
    // The search page (src/extension/web/static): same origin as the API, nothing from elsewhere.
    app.useStaticAssets(join(__dirname, '..', 'web', 'static'), {
      index: 'index.html',
      setHeaders: (response) => {
        response.setHeader(
          'Content-Security-Policy',
          "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        );
        response.setHeader('X-Content-Type-Options', 'nosniff');
        response.setHeader('Referrer-Policy', 'no-referrer');
      },
    });

    const server = app.getHttpServer() as import('node:http').Server;
    // Slow clients must not hold connections open: headers in 10 s, a whole request in 30 s.
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 5_000;
    server.maxConnections = 512;

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        try {
          await app.close();
        } finally {
          await db.destroy();
        }
      })());
    return { app, db, close };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}
