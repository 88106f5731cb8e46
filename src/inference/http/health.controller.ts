import { Controller, Get, Header, Res } from '@nestjs/common';
import type { Response } from 'express';
import { MetricsService } from './metrics.service';
import { ModelRegistry, type ModelStatus } from './model-registry.service';

export interface HealthResponse {
  status: 'ok' | 'unavailable';
  models: ModelStatus[];
}

/** Operations: readiness (/health) and Prometheus (/metrics). */
@Controller()
export class HealthController {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly metrics: MetricsService,
  ) {}

  /** 200 when every model the served tasks need is loaded or loadable, 503 (with the reasons) otherwise. */
  @Get('health')
  async health(@Res({ passthrough: true }) res: Response): Promise<HealthResponse> {
    const models = await this.registry.status();
    const ready = models.every((model) => model.loadable);
    res.status(ready ? 200 : 503);
    return { status: ready ? 'ok' : 'unavailable', models };
  }

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async prometheus(@Res({ passthrough: true }) res: Response): Promise<string> {
    res.type(this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
