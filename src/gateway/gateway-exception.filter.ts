import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { HttpError } from '../shared/http/http-error';

/**
 * Failures outside /predict (which answers its own): an unknown route, a request refused during
 * shutdown. Contract 1's shape, `{"error": "..."}`, never Nest's default body or a stack trace.
 */
@Catch()
export class GatewayExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Gateway');

  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent || !res.socket || res.socket.destroyed) return void res.destroy();
    let status = 500;
    let message = 'gateway error (the gateway log has the details)';
    if (error instanceof HttpError) {
      status = error.status;
      message = error.message;
      for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    } else if (error instanceof HttpException) {
      status = error.getStatus();
      message = error.message;
    } else {
      this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    res.status(status).json({ error: message });
  }
}
