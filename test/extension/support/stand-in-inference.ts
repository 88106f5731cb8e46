import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the inference service where a test needs it to misbehave: answer with an error,
 * answer slowly, or forward to the real one. It counts the /predict requests it receives.
 */
export interface StandIn {
  url: string;
  requests: number;
  close(): Promise<void>;
}

export type StandInHandler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void | Promise<void>;

export async function startStandIn(handler: StandInHandler): Promise<StandIn> {
  const standIn = { url: '', requests: 0, close: async () => undefined } as StandIn;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/predict') standIn.requests++;
      void Promise.resolve(handler(request, response, Buffer.concat(chunks))).catch(() => response.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standIn.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return standIn;
}

export const answer = (status: number, body: unknown) => (_request: IncomingMessage, response: ServerResponse) => {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/** Forwards /predict to a real inference service, after an optional delay. */
export const forwardTo =
  (target: () => string, delayMs = 0): StandInHandler =>
  async (request, response, body) => {
    // Unref'd: a request still held back when the test ends must not keep its process alive.
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
    const upstream = await fetch(`${target()}${request.url}`, {
      method: request.method,
      headers: { 'content-type': String(request.headers['content-type'] ?? '') },
      body: request.method === 'POST' ? body : undefined,
    });
    response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
    response.end(Buffer.from(await upstream.arrayBuffer()));
  };
