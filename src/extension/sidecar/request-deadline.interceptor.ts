import { CallHandler, ExecutionContext, HttpException, HttpStatus, Injectable, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { Observable, TimeoutError, catchError, throwError, timeout } from 'rxjs';

/**
 * Every request gets an answer within REQUEST_TIMEOUT_MS: past it, 503 with Retry-After (the
 * database or Redis is too slow to be useful right now) instead of a client left hanging. The work
 * itself stops at the database's own query timeout, which is shorter.
 */
@Injectable()
export class RequestDeadlineInterceptor implements NestInterceptor {
  constructor(private readonly timeoutMs: number) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      timeout(this.timeoutMs),
      catchError((error: unknown) => {
        if (!(error instanceof TimeoutError)) return throwError(() => error);
        context.switchToHttp().getResponse<Response>().setHeader('Retry-After', '5');
        return throwError(
          () =>
            new HttpException(
              {
                statusCode: 503,
                message: 'The request took too long; the database may be overloaded. Try again shortly',
              },
              HttpStatus.SERVICE_UNAVAILABLE,
            ),
        );
      }),
    );
  }
}
