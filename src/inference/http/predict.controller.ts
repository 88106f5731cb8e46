import { Controller, Get, Header, HttpCode, Post, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import type { Response } from 'express';
import type { FormParts } from '../../shared/http/incoming-form';
import { PredictKeyGuard } from './api-key.guard';
import { ClientSignal } from './client-signal.decorator';
import { Form, FormInterceptor } from './form.interceptor';
import { PredictService, type PredictResponse } from './predict.service';
import { withServerTiming } from './server-timing';

/** Contract 1 (Immich's ML protocol): GET /ping, POST /predict. */
@Controller()
export class PredictController {
  constructor(private readonly service: PredictService) {}

  @Get()
  root(): { message: string } {
    return { message: 'immich-ai inference' };
  }

  @Get('ping')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  ping(): string {
    return 'pong';
  }

  /** Multipart: `entries` (JSON) and an `image` file or a `text` field, as Immich sends them. */
  @Post('predict')
  @HttpCode(200)
  @UseGuards(PredictKeyGuard)
  @UseInterceptors(FormInterceptor('image'))
  predict(
    @Form() form: FormParts,
    @ClientSignal() signal: AbortSignal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PredictResponse> {
    return withServerTiming(res, (timing) => this.service.predict(form, signal, timing));
  }
}
