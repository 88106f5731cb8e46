import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { inferenceConfig, type InferenceConfig } from '../../src/config/inference.config';
import { createInferenceApp, type InferenceAppOptions } from '../../src/inference/http/inference-app';
import { writeTestClipModel } from '../support/clip-model-gen';

export interface RunningApp {
  app: NestExpressApplication;
  url: string;
  config: InferenceConfig;
  close(): Promise<void>;
}

/** Starts the real app on 127.0.0.1, port 0, with quiet logs; tests talk to it over real HTTP. */
export async function startApp(
  overrides: Partial<InferenceConfig> = {},
  options: InferenceAppOptions = {},
): Promise<RunningApp> {
  // One onnxruntime thread per run: jest runs two suites at once on two cores. Models open on first
  // use unless a test asks for PRELOAD: /health is then "ok" at once and no test pays for a warm-up.
  const config = inferenceConfig({ host: '127.0.0.1', port: 0, threads: 1, preload: [], ...overrides });
  const app = await createInferenceApp(config, { logger: ['error'], ...options });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, config, close: () => app.close() };
}

/** A temp CLIP_DOWNLOAD_ROOT holding helper-1's generated cn-clip ViT-B-16 test export. */
export async function testClipRoot(options: Parameters<typeof writeTestClipModel>[1] = {}) {
  const root = await mkdtemp(join(tmpdir(), 'inference-clip-'));
  await writeTestClipModel(root, options);
  return { root, remove: () => rm(root, { recursive: true, force: true }) };
}

/** An empty temp folder: CLIP_DOWNLOAD_ROOT without any model. */
export async function emptyDir() {
  const dir = await mkdtemp(join(tmpdir(), 'inference-empty-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export const API_KEY = 'test-api-key';

export { immichEntries } from '../support/immich-entries';

/** The body Immich's getFormData() sends: `entries`, then a nameless Blob `image` or a `text` field. */
export function immichForm(entries: object, payload: { image: Buffer } | { text: string }): FormData {
  const form = new FormData();
  form.append('entries', JSON.stringify(entries));
  if ('image' in payload) form.append('image', new Blob([new Uint8Array(payload.image)]));
  else form.append('text', payload.text);
  return form;
}

/** POST /predict; `key` is sent as `api-key` (needed when the service has API_AUTH_KEY set). */
export function predict(url: string, form: FormData, key?: string): Promise<Response> {
  return fetch(new URL('/predict', url), { method: 'POST', body: form, headers: key ? { 'api-key': key } : {} });
}

/** A multipart `file` upload as MT-Photos clients send it. */
export function mtUpload(url: string, path: string, image: Buffer, key: string | undefined = API_KEY) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), 'photo.jpg');
  return fetch(new URL(path, url), { method: 'POST', body: form, headers: key ? { 'api-key': key } : {} });
}

export function solidJpeg(rgb: [number, number, number], width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .jpeg()
    .toBuffer();
}

export const dot = (a: number[], b: number[]) => a.reduce((sum, v, i) => sum + v * b[i], 0);

/** The parsed JSON body, typed by the caller (Node's fetch types it as unknown). */
export async function readJson<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}
