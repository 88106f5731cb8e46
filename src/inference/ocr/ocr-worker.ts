/**
 * Entry point of one OCR worker thread: opens its own engine (its own onnxruntime sessions) and
 * reads the images the pool sends, one at a time. See ocr-worker-pool.ts for why.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ImageInputError } from '../../shared/image/decode';
import { OcrEngine, type OcrEngineOptions } from './ocr-engine';
import type { WorkerReply, WorkerRequest } from './ocr-worker-pool';

async function main(): Promise<void> {
  const port = parentPort!;
  const engine = await OcrEngine.open(workerData as OcrEngineOptions);
  port.postMessage({ type: 'ready', device: engine.device } satisfies WorkerReply);
  port.on('message', async ({ id, image, options, info }: WorkerRequest) => {
    try {
      const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
      const output = await engine.read(bytes, options, info);
      port.postMessage({ type: 'result', id, output } satisfies WorkerReply);
    } catch (error) {
      const kind = error instanceof ImageInputError ? error.kind : undefined;
      const message = error instanceof Error ? error.message : String(error);
      port.postMessage({ type: 'error', id, kind, message } satisfies WorkerReply);
    }
  });
}

main().catch((error: unknown) => {
  parentPort!.postMessage({ type: 'failed', message: (error as Error).message ?? String(error) } satisfies WorkerReply);
});
