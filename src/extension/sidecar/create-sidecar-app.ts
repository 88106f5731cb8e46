import { join } from 'node:path';
import { parse as parseQueryString } from 'node:querystring';
import { BullModule } from '@nestjs/bullmq';
import { INestApplication, Logger, LoggerService, LogLevel, Module, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { Kysely } from 'kysely';
import { CREDENTIAL_QUERY_PARAMS, ImmichCredentialsAuthenticator } from '../auth/immich-credentials.authenticator';
import { connectDatabase } from '../database/create-database';
import { AUTH_DB, EXTENSION_DB } from '../database/database.tokens';
import { migrateToLatest } from '../database/migrator';
import type { ExtensionDatabase } from '../database/schema';
import { ExtensionModule } from '../extension.module';
import { QUEUE_PREFIX } from '../queue/queue.constants';
import { chooseSegmenter } from '../search/segmenter';
import { SidecarErrorsFilter } from './errors.filter';
import { RequestDeadlineInterceptor } from './request-deadline.interceptor';
import { LimitedExpressAdapter } from '../../shared/http/http-server';
import { jsonBody } from '../../shared/http/json-body';
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
  if (migrate) await migrateOnce(config.database);
  const db = connectDatabase(config.database, { queryTimeoutMs: config.database.queryTimeoutMs });
  // Signing in has a pool of its own: one user's heavy searches cannot lock everyone else out.
  const authDb = connectDatabase(config.database, {
    max: 2,
    applicationName: 'immich-ai auth',
    queryTimeoutMs: config.database.queryTimeoutMs,
  });
  try {
    const segmenter = await chooseSegmenter(db, config.segmenter);
    const redis = config.redis;

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
          authDatabase: { provide: AUTH_DB, useValue: authDb },
          authenticator: ImmichCredentialsAuthenticator,
          // The worker waits out a Redis restart and carries on.
          workerConnection: { ...redis, maxRetriesPerRequest: null },
        }),
      ],
    })
    class SidecarModule {}

    const app = await NestFactory.create<NestExpressApplication>(
      SidecarModule,
      new LimitedExpressAdapter(config.http),
      {
        bodyParser: false,
        // Throw instead of exiting the process: the CLI reports it, a test fails on it.
        abortOnError: false,
        ...(logger !== undefined ? { logger } : {}),
      },
    );
    app.disable('x-powered-by');
    // Credentials in the query (`?apiKey=`, Immich's way for links) are read by the authenticator from
    // the URL; the parameters the routes see never include them.
    app.set('query parser', (query: string) => {
      const parsed = parseQueryString(query);
      for (const name of CREDENTIAL_QUERY_PARAMS) delete parsed[name];
      return parsed;
    });
    // Answers carry one user's photos and text: never cached, never sniffed into something else.
    app.use('/api', (_request: Request, response: Response, next: NextFunction) => {
      response.setHeader('Cache-Control', 'no-store');
      response.setHeader('X-Content-Type-Options', 'nosniff');
      next();
    });
    // Our bodies are small JSON (a list of up to 1000 ids): refused from Content-Length when larger,
    // and before parsing when nested deeper than any of our shapes (the deepest is a list in an object).
    app.use(jsonBody({ limit: 128 * 1024, maxDepth: 8 }));
    app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
    app.useGlobalInterceptors(new RequestDeadlineInterceptor(config.requestTimeoutMs));
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

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        try {
          await app.close();
        } finally {
          await Promise.all([db.destroy(), authDb.destroy()]);
        }
      })());
    return { app, db, close };
  } catch (error) {
    await Promise.all([db.destroy(), authDb.destroy()]);
    throw error;
  }
}

/**
 * Our migrations on a connection of their own, without the request traffic's statement timeout (an
 * index build at a few million documents takes minutes). Kysely's migrator holds a lock while it
 * works, so processes starting together apply each migration once.
 */
async function migrateOnce(database: ExtensionConfig['database']): Promise<void> {
  const db = connectDatabase(database, { max: 1, applicationName: 'immich-ai migrate', queryTimeoutMs: 0 });
  try {
    const applied = await migrateToLatest(db);
    if (applied.length > 0) new Logger('Migrations').log(`applied ${applied.join(', ')}`);
  } finally {
    await db.destroy();
  }
}
