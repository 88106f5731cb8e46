import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { guardConnections } from './connection-guard';
import type { HttpServerSettings } from './server-settings';

export { HTTP_SERVER_DEFAULTS, type HttpServerSettings } from './server-settings';
export { markAuthenticated } from './connection-guard';

/** Sockets whose request Node cut off for taking too long: their handlers answer 408, not 499. */
const timedOut = new WeakSet<object>();

export function requestTimedOut(socket: object | null | undefined): boolean {
  return !!socket && timedOut.has(socket);
}

/**
 * The Express adapter with a server that enforces HttpServerSettings. Node's own header and request
 * timers do the cutting (checked every `connectionsCheckingInterval`, which defaults to 30 s and is
 * set here to a fraction of the shortest timeout); its `clientError` answer is replaced by one in the
 * contract's JSON shape.
 */
export class LimitedExpressAdapter extends ExpressAdapter {
  constructor(private readonly settings: HttpServerSettings) {
    super();
  }

  /** Neither service uses Nest's httpsOptions or forceCloseConnections: graceful-shutdown.ts closes connections. */
  override initHttpServer(_options: NestApplicationOptions): void {
    this.setHttpServer(createLimitedServer(this.settings, this.getInstance()));
  }
}

function createLimitedServer(settings: HttpServerSettings, handler: Parameters<typeof createServer>[1]): Server {
  const shortest = Math.min(settings.headersTimeoutMs, settings.uploadTimeoutMs);
  const server = createServer(
    {
      headersTimeout: settings.headersTimeoutMs,
      requestTimeout: settings.uploadTimeoutMs,
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(20, Math.min(1_000, Math.floor(shortest / 4))),
    },
    handler,
  );
  guardConnections(server, { max: settings.maxConnections, perClient: settings.maxConnectionsPerClient });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => answerClientError(error, socket));
  return server;
}

/** A request Node refused before any handler saw it (or cut off while it was arriving). */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  const [status, reason, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'the request did not arrive in time (HEADERS_TIMEOUT_MS, UPLOAD_TIMEOUT_MS)']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'request headers too large']
        : [400, 'Bad Request', 'malformed HTTP request'];
  if (status === 408) timedOut.add(socket);
  // Only a connection nothing has been written to can still carry an answer.
  if (!socket.writable || socket.bytesWritten > 0) return void socket.destroy();
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.destroySoon();
}
