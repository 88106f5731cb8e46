import { Body, Controller, HttpCode, Post, Res, UploadedFile, UseGuards, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Response } from 'express';
import type { MtCheckResponse, MtClipResponse, MtOcrResponse } from '../../shared/wire/mt-photos';
import { ApiKeyGuard } from './api-key.guard';
import { ClientSignal } from './client-signal.decorator';
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
  @UseInterceptors(FileInterceptor('file'))
  ocr(
    @UploadedFile() file: Express.Multer.File | undefined,
    @ClientSignal() signal: AbortSignal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MtOcrResponse> {
    return withServerTiming(res, (timing) => this.service.ocr(file?.buffer, signal, timing));
  }

  @Post('clip/img')
  @HttpCode(200)
  @UseInterceptors(FileInterceptor('file'))
  clipImage(
    @UploadedFile() file: Express.Multer.File | undefined,
    @ClientSignal() signal: AbortSignal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MtClipResponse> {
    return withServerTiming(res, (timing) => this.service.clipImage(file?.buffer, signal, timing));
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
