import { DynamicModule, Injectable, Module, UnauthorizedException } from '@nestjs/common';
import type { Authenticator } from '../auth/auth.types';
import { EXTENSION_DB } from '../database/database.tokens';
import { ExtensionModule } from '../extension.module';
import { ImmichMachineLearningEndpoint } from '../inference/inference-endpoint';
import { ImmichIntegrationService } from './immich-integration.service';
import { loadExtensionConfig } from '../../config/extension.config';

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
 * migrations after Immich's. Configuration: the same variables as the sidecar, all optional.
 */
@Module({})
export class ImmichAiModule {
  static forImmich({ worker, kyselyToken }: ImmichAiModuleOptions): DynamicModule {
    const config = loadExtensionConfig({
      ...process.env,
      JOB_WORKER: worker === 'microservices' ? (process.env.JOB_WORKER ?? 'true') : 'false',
    });
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
