import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Sockets on which a request has passed authentication: never closed to make room for others. */
const authenticated = new WeakSet<object>();

/** Called by a service's auth guard once a request's credentials check out. */
export function markAuthenticated(socket: object | null | undefined): void {
  if (socket) authenticated.add(socket);
}

interface Tracked {
  socket: Socket;
  address: string;
  /** Requests on this socket whose answer is not finished yet. */
  inFlight: number;
}

/**
 * Who may hold a connection, beyond Node's header and request deadlines:
 * - one client address holds at most `perClient` connections (a single host cannot fill the server);
 * - at `max` connections, a newcomer takes the place of the oldest connection that is neither
 *   authenticated nor waiting for an answer (a held socket that sent no request, or half a header),
 *   so a flood of held sockets churns among itself while clients that authenticated keep theirs,
 *   and a fresh client still gets in; with no such connection to close, the newcomer is refused.
 */
export function guardConnections(server: Server, { max, perClient }: { max: number; perClient: number }): void {
  const open = new Map<Socket, Tracked>();
  const perAddress = new Map<string, number>();

  const forget = (socket: Socket) => {
    const tracked = open.get(socket);
    if (!tracked) return;
    open.delete(socket);
    const left = (perAddress.get(tracked.address) ?? 1) - 1;
    if (left > 0) perAddress.set(tracked.address, left);
    else perAddress.delete(tracked.address);
  };

  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    if (perClient > 0 && (perAddress.get(address) ?? 0) >= perClient) return void socket.destroy();
    if (open.size >= max) {
      // Map order is connection order: the first match is the oldest.
      const evictable = [...open.values()].find(
        (tracked) => tracked.inFlight === 0 && !authenticated.has(tracked.socket),
      );
      if (!evictable) return void socket.destroy();
      evictable.socket.destroy();
      forget(evictable.socket);
    }
    open.set(socket, { socket, address, inFlight: 0 });
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    socket.once('close', () => forget(socket));
  });

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const tracked = open.get(request.socket);
    if (tracked) tracked.inFlight++;
    if (tracked) response.once('close', () => tracked.inFlight--);
  });
}
