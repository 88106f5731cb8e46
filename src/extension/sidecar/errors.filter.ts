import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';

/** Postgres / network codes that mean "the database is not there right now", not "bad request". */
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08006',
  '08001',
  '08003',
  // statement_timeout: the database is too slow right now
  '57014',
]);

/**
 * HTTP errors pass through as Nest shapes them; a database or Redis outage becomes 503 with
 * Retry-After; anything else is a 500 whose details go to the log, never into the body.
 */
@Catch()
export class SidecarErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    // Refused before its body arrived (too large, bad credentials): the rest of the body is not worth
    // reading, and a client that declared a megabyte and sends two bytes must not keep the connection.
    if (!host.switchToHttp().getRequest<Request>().complete) response.setHeader('Connection', 'close');
    if (error instanceof HttpException) {
      const body = error.getResponse();
      if ((error.getStatus() === 429 || error.getStatus() === 503) && !response.getHeader('Retry-After')) {
        response.setHeader('Retry-After', error.getStatus() === 429 ? '1' : '5');
      }
      response
        .status(error.getStatus())
        .json(typeof body === 'string' ? { statusCode: error.getStatus(), message: body } : body);
      return;
    }
    // body-parser's own errors (413 too large, 400 malformed JSON) carry a status meant for the client.
    const status = (error as { status?: number; expose?: boolean })?.status;
    if (typeof status === 'number' && status >= 400 && status < 500 && (error as { expose?: boolean }).expose) {
      response.status(status).json({ statusCode: status, message: (error as Error).message });
      return;
    }
    const code = (error as { code?: string })?.code;
    const message = (error as Error)?.message ?? '';
    if (
      (code && UNAVAILABLE.has(code)) ||
      /Connection terminated|Connection is closed|connect ECONNREFUSED|Stream isn't writeable|MaxRetriesPerRequest|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error/i.test(
        message,
      )
    ) {
      this.logger.warn(`unavailable: ${message}`);
      response
        .status(503)
        .setHeader('Retry-After', '5')
        .json({ statusCode: 503, message: 'Database or Redis unavailable, try again shortly' });
      return;
    }
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    response.status(500).json({ statusCode: 500, message: 'Internal server error' });
  }
}
