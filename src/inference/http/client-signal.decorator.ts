import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Response } from 'express';

/**
 * An AbortSignal that fires when the client goes away before its answer is sent, so a request
 * still waiting in the queue gives its place up instead of running a model for nobody.
 */
export const ClientSignal = createParamDecorator((_data: unknown, context: ExecutionContext): AbortSignal => {
  const res = context.switchToHttp().getResponse<Response>();
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
});
