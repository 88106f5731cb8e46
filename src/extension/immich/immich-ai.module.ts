import { DynamicModule, Injectable, Logger, Module, UnauthorizedException } from '@nestjs/common';
import type { Authenticator } from '../auth/auth.types';
import { EXTENSION_DB } from '../database/database.tokens';
import { ExtensionModule } from '../extension.module';
import { ImmichMachineLearningEndpoint } from '../inference/inference-endpoint';
import { ImmichIntegrationOff, ImmichIntegrationService } from './immich-integration.service';
import { ENV_PREFIX, extensionEnv, loadExtensionConfig } from '../../config/extension.config';
import { ConfigError } from '../../config/parse-env';

/** Inside Immich our REST routes are not served (Immich's own endpoints are), so nothing authenticates here. */
@Injectable()
class NoRoutesAuthenticator implements Authenticator {
  authenticate(): Promise<never> {
    return Promise.reject(new UnauthorizedException());
  }
}

export interface ImmichAiModuleOptions {
  /** Immich's worker: jobs run in `microservices` only; `api` queues them. */
  worker: string;
  /** Immich's Kysely instance token (nestjs-kysely's KYSELY_MODULE_CONNECTION_TOKEN()). */
  kyselyToken: string;
}

/**
 * The extension as a module of Immich's own server (the patched install). Immich's app.module imports
 * it in its API and microservices workers; it uses Immich's database connection, Immich's BullMQ
 * Redis connection (our queue keeps its own prefix) and Immich's machine-learning URL, and applies our
 * migrations after Immich's. Configuration: our variables with the IMMICH_AI_ prefix only (Immich's
 * environment has PORT, JOB_* and the like of its own), all optional. A bad value of ours turns the
 * module off with one log line naming it; Immich itself runs on, as a stock server.
 */
@Module({})
export class ImmichAiModule {
  static forImmich({ worker, kyselyToken }: ImmichAiModuleOptions, env = process.env): DynamicModule {
    let config;
    try {
      config = loadExtensionConfig({
        ...extensionEnv(env, { prefixedOnly: true }),
        JOB_WORKER: worker === 'microservices' ? (env[`${ENV_PREFIX}JOB_WORKER`] ?? 'true') : 'false',
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      new Logger('ImmichAi').error(
        `immich-ai is off until this is fixed (Immich runs without OCR search and regenerate): ${error.message}`,
      );
      return {
        module: ImmichAiModule,
        providers: [{ provide: ImmichIntegrationService, useClass: ImmichIntegrationOff }],
        exports: [ImmichIntegrationService],
      };
    }
    const extension = ExtensionModule.forRoot({
      config,
      database: { provide: EXTENSION_DB, useExisting: kyselyToken },
      authenticator: NoRoutesAuthenticator,
      controllers: false,
      inferenceEndpoint: ImmichMachineLearningEndpoint,
      migrate: true,
    });
    return {
      module: ImmichAiModule,
      imports: [extension],
      providers: [ImmichIntegrationService],
      exports: [ImmichIntegrationService],
    };
  }
}
