import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { InferenceConfig } from '../../config/inference.config';
import { ByteBudget } from '../../shared/http/byte-budget';
import { GracefulShutdown, SHUTDOWN_TIMEOUT_MS } from '../../shared/http/graceful-shutdown';
import { ApiKeyGuard, PredictKeyGuard } from './api-key.guard';
import { defaultEngines, type InferenceEngines } from './engines';
import { HealthController } from './health.controller';
import { InferenceExceptionFilter } from './http-exception.filter';
import { INFERENCE_CONFIG, INFERENCE_ENGINES, UPLOAD_MEMORY } from './inference.tokens';
import { InferenceQueue } from './inference-queue.service';
import { MetricsService } from './metrics.service';
import { ModelRegistry } from './model-registry.service';
import { MtPhotosController } from './mt-photos.controller';
import { MtPhotosService } from './mt-photos.service';
import { PredictController } from './predict.controller';
import { PredictService } from './predict.service';

@Module({})
export class InferenceModule {
  static forRoot(config: InferenceConfig, engines: Partial<InferenceEngines> = {}): DynamicModule {
    return {
      module: InferenceModule,
      controllers: [PredictController, MtPhotosController, HealthController],
      providers: [
        { provide: INFERENCE_CONFIG, useValue: config },
        { provide: INFERENCE_ENGINES, useValue: { ...defaultEngines, ...engines } },
        { provide: SHUTDOWN_TIMEOUT_MS, useValue: config.shutdownTimeoutMs },
        // Uploads stay in memory (the engines take a Buffer); this caps all of them together.
        { provide: UPLOAD_MEMORY, useFactory: () => new ByteBudget(config.uploadMemoryBytes) },
        { provide: APP_FILTER, useClass: InferenceExceptionFilter },
        MetricsService,
        ModelRegistry,
        InferenceQueue,
        GracefulShutdown,
        PredictService,
        MtPhotosService,
        ApiKeyGuard,
        PredictKeyGuard,
      ],
    };
  }
}
