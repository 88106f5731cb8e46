import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP relay in front of a real server (Postgres here) that can go silent the way a dead host or a
 * lost NAT entry does: connections stay open and nothing more comes back on them, ever, and new
 * connections are accepted but never reach the server. `recover()` lets new connections through
 * again; the silenced ones stay dead until their owner gives up on them.
 */
export interface StallingProxy {
  port: number;
  stall(): void;
  recover(): void;
  close(): Promise<void>;
}

export async function startStallingProxy(target: { host: string; port: number }): Promise<StallingProxy> {
  let stalled = false;
  const live = new Set<{ client: Socket; upstream?: Socket }>();
  const silence = (pair: { client: Socket; upstream?: Socket }) => {
    // Keep the sockets, drop every byte: neither end hears from the other again.
    pair.client.removeAllListeners('data');
    pair.upstream?.removeAllListeners('data');
    pair.client.on('data', () => undefined);
    pair.upstream?.on('data', () => undefined);
    live.delete(pair);
  };
  const all = new Set<Socket>();
  const server: Server = createServer((client) => {
    all.add(client);
    client.on('error', () => undefined);
    client.on('close', () => all.delete(client));
    const pair: { client: Socket; upstream?: Socket } = { client };
    if (stalled) return silence(pair);
    const upstream = connect(target.port, target.host);
    all.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      all.delete(upstream);
      if (live.has(pair)) client.destroy();
    });
    client.on('close', () => live.has(pair) && upstream.destroy());
    pair.upstream = upstream;
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    live.add(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stall: () => {
      stalled = true;
      for (const pair of [...live]) silence(pair);
    },
    recover: () => {
      stalled = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of all) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
