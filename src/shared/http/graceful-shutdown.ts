import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import { busy } from './http-error';

/** Injection token: how long shutdown waits for requests in flight (SHUTDOWN_TIMEOUT_MS). */
export const SHUTDOWN_TIMEOUT_MS = Symbol('SHUTDOWN_TIMEOUT_MS');

/**
 * Counts requests from arrival to response, so that shutdown can wait for all of them (an upload
 * still arriving included), up to SHUTDOWN_TIMEOUT_MS, before the models are released or the
 * upstream pools closed. Nest calls `beforeApplicationShutdown` before it closes the HTTP server and
 * runs `onApplicationShutdown`. Both services use it.
 */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown {
  private readonly logger = new Logger('GracefulShutdown');
  private readonly inFlight = new Set<Response>();
  private draining = false;
  private drained?: () => void;

  constructor(
    @Inject(SHUTDOWN_TIMEOUT_MS) private readonly timeoutMs: number,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** Express middleware: counts the request, or refuses it once shutdown has begun. */
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (this.draining) {
      // A keep-alive connection can still bring a request after the listener closed: refuse it and
      // close the connection, so the client retries elsewhere.
      res.setHeader('Connection', 'close');
      next(busy('the service is shutting down'));
      return;
    }
    this.inFlight.add(res);
    res.once('close', () => {
      this.inFlight.delete(res);
      if (this.draining && this.inFlight.size === 0) this.drained?.();
    });
    next();
  };

  async beforeApplicationShutdown(): Promise<void> {
    this.draining = true;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    // Stop accepting connections now; requests already received go on.
    server?.close();
    server?.closeIdleConnections();
    // Answers still to come close their connection, rather than leave it idle until the keep-alive timeout.
    for (const res of this.inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    if (this.inFlight.size === 0) return;
    this.logger.log(`shutting down: waiting for ${this.inFlight.size} request(s) in flight`);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      new Promise<'drained'>((resolve) => (this.drained = () => resolve('drained'))),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.timeoutMs))),
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.warn(
        `${this.inFlight.size} request(s) still running after SHUTDOWN_TIMEOUT_MS=${this.timeoutMs}; closing their connections`,
      );
      server?.closeAllConnections();
    } else {
      server?.closeIdleConnections();
    }
  }
}
