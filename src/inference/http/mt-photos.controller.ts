import { Body, Controller, HttpCode, Post, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import type { Response } from 'express';
import type { FormParts } from '../../shared/http/incoming-form';
import type { MtCheckResponse, MtClipResponse, MtOcrResponse } from '../../shared/wire/mt-photos';
import { ApiKeyGuard } from './api-key.guard';
import { ClientSignal } from './client-signal.decorator';
import { Form, FormInterceptor } from './form.interceptor';
import { MtPhotosService } from './mt-photos.service';
import { withServerTiming } from './server-timing';

/** Contract 2 (MT-Photos AI API): every route needs the `api-key` header. */
@Controller()
@UseGuards(ApiKeyGuard)
export class MtPhotosController {
  constructor(private readonly service: MtPhotosService) {}

  @Post('check')
  @HttpCode(200)
  check(): Promise<MtCheckResponse> {
    return this.service.check();
  }

  @Post('ocr')
  @HttpCode(200)
  @UseInterceptors(FormInterceptor('file'))
  ocr(
    @Form() form: FormParts,
    @ClientSignal() signal: AbortSignal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MtOcrResponse> {
    return withServerTiming(res, (timing) => this.service.ocr(form.image, signal, timing));
  }

  @Post('clip/img')
  @HttpCode(200)
  @UseInterceptors(FormInterceptor('file'))
  clipImage(
    @Form() form: FormParts,
    @ClientSignal() signal: AbortSignal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MtClipResponse> {
    return withServerTiming(res, (timing) => this.service.clipImage(form.image, signal, timing));
  }

  @Post('clip/txt')
  @HttpCode(200)
  clipText(
    @Body() body: unknown,
    @ClientSignal() signal: AbortSignal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MtClipResponse> {
    return withServerTiming(res, (timing) => this.service.clipText(body, signal, timing));
  }
}
