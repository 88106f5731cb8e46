import { createServer, request as httpRequest, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { gatewayConfig, gatewayRoute } from '../../src/config/gateway.config';
import { GatewayUnderTest, immichBody, startGateway, waitFor } from './support/servers';

describe('gateway streaming', () => {
  let upstream: Server;
  let upstreamBytes = 0;
  let gateway: GatewayUnderTest;

  beforeAll(async () => {
    // An Immich ML stand-in that counts bytes as they arrive and answers once the body is complete.
    upstream = createServer((req, res) => {
      if (req.url === '/ping') return res.end('pong');
      req.on('data', (chunk: Buffer) => (upstreamBytes += chunk.length));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ 'facial-recognition': [], imageHeight: 1, imageWidth: 1, bytes: upstreamBytes }));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    gateway = await startGateway(
      gatewayConfig({ routes: { immich: gatewayRoute([url]) }, tasks: { default: 'immich' } }),
    );
  });

  afterAll(async () => {
    await gateway?.close();
    upstream?.closeAllConnections();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it('forwards the body while the client is still sending it (no buffering of the image)', async () => {
    const image = Buffer.alloc(8 * 1024 * 1024, 7);
    const { contentType, body } = immichBody(
      { 'facial-recognition': { detection: { modelName: 'buffalo_l' }, recognition: { modelName: 'buffalo_l' } } },
      { image },
    );
    const firstHalf = body.subarray(0, body.length / 2);
    const secondHalf = body.subarray(body.length / 2);
    const { port } = new URL(gateway.url);

    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: Number(port),
          method: 'POST',
          path: '/predict',
          headers: { 'content-type': contentType, 'content-length': body.length },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(firstHalf);
      // The second half is sent only once most of the first has reached the upstream.
      waitFor(() => upstreamBytes > firstHalf.length / 2, 5_000).then(
        () => req.end(secondHalf),
        (error: Error) => {
          req.destroy();
          reject(error);
        },
      );
    });

    const { status, text } = await answer;
    expect(status).toBe(200);
    expect(JSON.parse(text).bytes).toBe(body.length);
  });
});
