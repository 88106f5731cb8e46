import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { MulterModule } from '@nestjs/platform-express';
import { memoryStorage } from 'multer';
import type { InferenceConfig } from '../../config/inference.config';
import { ApiKeyGuard } from './api-key.guard';
import { defaultEngines, type InferenceEngines } from './engines';
import { GracefulShutdown } from './graceful-shutdown.service';
import { HealthController } from './health.controller';
import { InferenceExceptionFilter } from './http-exception.filter';
import { INFERENCE_CONFIG, INFERENCE_ENGINES } from './inference.tokens';
import { InferenceQueue } from './inference-queue.service';
import { MetricsService } from './metrics.service';
import { ModelRegistry } from './model-registry.service';
import { MtPhotosController } from './mt-photos.controller';
import { MtPhotosService } from './mt-photos.service';
import { PredictController } from './predict.controller';
import { PredictService } from './predict.service';

/** Form fields besides the file are small (entries JSON, a search text); 1 MiB is generous. */
const MAX_FIELD_BYTES = 1024 * 1024;

@Module({})
export class InferenceModule {
  static forRoot(config: InferenceConfig, engines: Partial<InferenceEngines> = {}): DynamicModule {
    return {
      module: InferenceModule,
      imports: [
        // Uploads stay in memory: the engines take a Buffer, and the size limit bounds each one.
        // Over the limit multer stops reading and FileInterceptor answers 413.
        MulterModule.register({
          storage: memoryStorage(),
          limits: { fileSize: config.maxUploadBytes, files: 1, fields: 8, fieldSize: MAX_FIELD_BYTES, parts: 10 },
        }),
      ],
      controllers: [PredictController, MtPhotosController, HealthController],
      providers: [
        { provide: INFERENCE_CONFIG, useValue: config },
        { provide: INFERENCE_ENGINES, useValue: { ...defaultEngines, ...engines } },
        { provide: APP_FILTER, useClass: InferenceExceptionFilter },
        MetricsService,
        ModelRegistry,
        InferenceQueue,
        GracefulShutdown,
        PredictService,
        MtPhotosService,
        ApiKeyGuard,
      ],
    };
  }
}
