import { Controller, Get, Header, Res } from '@nestjs/common';
import type { Response } from 'express';
import { MetricsService } from './metrics.service';
import { ModelRegistry, type ModelStatus } from './model-registry.service';

export interface HealthResponse {
  /** loading: a model PRELOAD opens at start is not ready yet (requests sent now wait for it). */
  status: 'ok' | 'loading' | 'unavailable';
  models: ModelStatus[];
}

/** Operations: readiness (/health) and Prometheus (/metrics). */
@Controller()
export class HealthController {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * 200 when every model the served tasks need is loaded or loadable; 503 "loading" while a
   * preloaded model is being opened, 503 "unavailable" (with the reasons) when one cannot be.
   */
  @Get('health')
  async health(@Res({ passthrough: true }) res: Response): Promise<HealthResponse> {
    const models = await this.registry.status();
    const status = !models.every((model) => model.loadable)
      ? 'unavailable'
      : this.registry.preloading()
        ? 'loading'
        : 'ok';
    res.status(status === 'ok' ? 200 : 503);
    return { status, models };
  }

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async prometheus(@Res({ passthrough: true }) res: Response): Promise<string> {
    res.type(this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
