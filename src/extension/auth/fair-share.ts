import { HttpException, HttpStatus } from '@nestjs/common';
import { ConcurrencyLimiter, QueueFullError } from '../../shared/queue/limiter';

/** Requests one user may have in the database at once; more wait in that user's own line. */
export const REQUESTS_PER_USER = 4;
/** How many of one user's requests may wait; beyond that, 429. */
const WAITING_PER_USER = 32;

interface Exchange {
  once(event: 'close', listener: () => void): unknown;
}

/**
 * A fair share of the database pool per user: each signed-in user runs at most REQUESTS_PER_USER
 * requests at once and queues the rest, so one user firing searches in a loop waits behind their
 * own requests while everyone else's go straight through. A user's line holds WAITING_PER_USER;
 * beyond it the answer is 429 with Retry-After.
 */
export class FairShare {
  private readonly lines = new Map<string, ConcurrencyLimiter>();

  /** Resolves once this request may run; its slot is given back when the response closes. */
  async admit(userId: string, response: Exchange): Promise<void> {
    let line = this.lines.get(userId);
    if (!line) {
      line = new ConcurrencyLimiter(REQUESTS_PER_USER, WAITING_PER_USER, ({ active, queued }) => {
        if (active === 0 && queued === 0) this.lines.delete(userId);
      });
      this.lines.set(userId, line);
    }
    // The response closes when it is sent, or when the client goes away while the request waits.
    const gone = new AbortController();
    response.once('close', () => gone.abort());
    await new Promise<void>((admitted, refused) => {
      line
        .run(() => {
          admitted();
          return new Promise<void>((done) => response.once('close', done));
        }, gone.signal)
        .catch((error: unknown) => {
          if (error instanceof QueueFullError) {
            refused(
              new HttpException(
                { statusCode: 429, message: 'Too many requests from this user at once; try again shortly' },
                HttpStatus.TOO_MANY_REQUESTS,
                { cause: error },
              ),
            );
          } else refused(error);
        });
    });
  }
}
