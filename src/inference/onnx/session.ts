import { Logger } from '@nestjs/common';
import * as ort from 'onnxruntime-node';

export type Device = 'cpu' | 'cuda';

export interface SessionOptions {
  device?: Device;
  /** Threads for one model run; defaults to onnxruntime's own choice. */
  threads?: number;
  /**
   * Let idle intra-op threads spin waiting for work (onnxruntime's default). Spinning threads that
   * share cores with other busy threads starve them: two 2-thread detectors at once on 2 cores took
   * 250 ms a run with spinning, 155 ms without (bench/ocr.ts).
   */
  spinning?: boolean;
}

export interface LoadedSession {
  session: ort.InferenceSession;
  /** The device really in use: 'cpu' after a CUDA fallback. */
  device: Device;
}

const logger = new Logger('onnx');
let cudaFailureLogged = false;

/**
 * Opens an ONNX model (a path, or the model's bytes) on the requested device. If CUDA was asked for
 * but its provider cannot load (no GPU, no CUDA libraries), says so once in the log and falls back
 * to CPU.
 */
export async function openSession(model: string | Uint8Array, options: SessionOptions = {}): Promise<LoadedSession> {
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    ...(options.spinning === false && { extra: { session: { 'intra_op.allow_spinning': '0' } } }),
  };
  if (options.device === 'cuda') {
    try {
      const session = await create(model, { ...base, executionProviders: ['cuda', 'cpu'] });
      return { session, device: 'cuda' };
    } catch (error) {
      if (!cudaFailureLogged) {
        cudaFailureLogged = true;
        logger.warn(`DEVICE=cuda but the CUDA execution provider could not load (${String(error)}); using CPU`);
      }
    }
  }
  const session = await create(model, { ...base, executionProviders: ['cpu'] });
  return { session, device: 'cpu' };
}

/** The two overloads of InferenceSession.create, for a path or the model's bytes. */
const create = (model: string | Uint8Array, options: ort.InferenceSession.SessionOptions) =>
  typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);

export { ort };
