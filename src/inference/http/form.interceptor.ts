import {
  CallHandler,
  createParamDecorator,
  ExecutionContext,
  Inject,
  Injectable,
  mixin,
  NestInterceptor,
  Type,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Observable } from 'rxjs';
import type { InferenceConfig } from '../../config/inference.config';
import { ByteBudget } from '../../shared/http/byte-budget';
import { FormParts, IncomingForm } from '../../shared/http/incoming-form';
import { INFERENCE_CONFIG, UPLOAD_MEMORY } from './inference.tokens';

const FORM = Symbol('form');

/**
 * Reads the request's form with the reader the gateway uses too (src/shared/http/incoming-form.ts):
 * its limits, statuses and upload memory budget, so both ends refuse the same requests the same way.
 * Runs after the guards, so a request without the key costs no parsing. The memory the form held is
 * given back when the response closes, after the model run that used it.
 */
export function FormInterceptor(fileField: 'image' | 'file'): Type<NestInterceptor> {
  @Injectable()
  class ReadForm implements NestInterceptor {
    constructor(
      @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
      @Inject(UPLOAD_MEMORY) private readonly memory: ByteBudget,
    ) {}

    async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
      const req = context.switchToHttp().getRequest<Request & { [FORM]?: FormParts }>();
      const res = context.switchToHttp().getResponse<Response>();
      const form = new IncomingForm(req, {
        maxUploadBytes: this.config.maxUploadBytes,
        memory: this.memory,
        fileField,
      });
      res.once('close', () => form.dispose());
      req[FORM] = await form.parts();
      return next.handle();
    }
  }
  return mixin(ReadForm);
}

/** The form FormInterceptor read: `entries`, the file (as `image`) and `text`. */
export const Form = createParamDecorator(
  (_data: unknown, context: ExecutionContext): FormParts =>
    context.switchToHttp().getRequest<Request & { [FORM]?: FormParts }>()[FORM] ?? {},
);
