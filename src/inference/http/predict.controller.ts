import { Body, Controller, Get, Header, HttpCode, Post, Res, UploadedFile, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Response } from 'express';
import { ClientSignal } from './client-signal.decorator';
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
  @UseInterceptors(FileInterceptor('image'))
  predict(
    @Body() body: Record<string, unknown> | undefined,
    @UploadedFile() image: Express.Multer.File | undefined,
    @ClientSignal() signal: AbortSignal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PredictResponse> {
    const input = { entries: body?.entries, image: image?.buffer, text: body?.text };
    return withServerTiming(res, (timing) => this.service.predict(input, signal, timing));
  }
}
