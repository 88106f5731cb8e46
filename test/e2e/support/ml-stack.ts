import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { loadGatewayConfig } from '../../../src/config/gateway.config';
import { createGatewayApp } from '../../../src/gateway/create-gateway-app';
import { answer, StandIn, startStandIn } from '../../extension/support/stand-in-inference';
import { RunningApp, startApp, testClipRoot } from '../../inference/helpers';

/**
 * What Immich's machine-learning URL points at in a real install: our gateway, sending OCR and CLIP
 * to our inference service (real PP-OCR models, the small cn-clip test models) and faces to a
 * stand-in for Immich's ML server that finds no faces.
 */
export interface MlStack {
  gatewayUrl: string;
  inference: RunningApp;
  close(): Promise<void>;
}

export async function startMlStack(): Promise<MlStack> {
  const clip = await testClipRoot();
  const inference = await startApp({ ocrWorkers: 0, clip: { root: clip.root, modelName: 'ViT-B-16' } });
  const faces: StandIn = await startStandIn((request, response) => {
    if (request.url === '/ping') response.end('pong');
    else answer(200, { 'facial-recognition': [], imageHeight: 1, imageWidth: 1 })(request, response);
  });
  const gateway: INestApplication = await createGatewayApp(
    loadGatewayConfig({
      PORT: '0',
      HTTP_HOST: '127.0.0.1',
      IMMICH_API: faces.url,
      INFERENCE_API: inference.url,
      ACCESS_LOG: 'false',
    }),
    { logger: ['error'] },
  );
  await gateway.listen(0, '127.0.0.1');
  return {
    gatewayUrl: `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`,
    inference,
    close: async () => {
      await gateway.close();
      await faces.close();
      await inference.close();
      await clip.remove();
    },
  };
}
