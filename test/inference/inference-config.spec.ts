import { availableParallelism } from 'node:os';
import { InferenceConfigError, loadInferenceConfig } from '../../src/config/inference.config';

describe('inference config from the environment', () => {
  it('has the documented defaults', () => {
    const config = loadInferenceConfig({});
    expect(config).toMatchObject({
      port: 8060,
      host: '0.0.0.0',
      device: 'cpu',
      preload: ['ocr'],
      tasks: ['ocr', 'clip'],
      apiAuthKey: undefined,
      clip: { root: './models/clip', modelName: 'ViT-B-16' },
      ocrModelDir: undefined,
      maxUploadBytes: 50 * 1024 * 1024,
      uploadMemoryBytes: 256 * 1024 * 1024,
      maxImagePixels: 100_000_000,
      clipConcurrency: 2,
      queueSize: 16,
      threads: 0,
      ocrWorkers: Math.min(2, availableParallelism()),
      shutdownTimeoutMs: 30_000,
      http: {
        headersTimeoutMs: 10_000,
        uploadTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        maxConnections: 256,
        maxConnectionsPerClient: 64,
      },
    });
  });

  it('PRELOAD: true, false, or a list of models', () => {
    const preload = (PRELOAD: string) => loadInferenceConfig({ PRELOAD }).preload;
    expect(preload('false')).toEqual([]);
    expect(preload('none')).toEqual([]);
    expect(preload('true')).toEqual(['ocr', 'clip']);
    expect(preload('clip')).toEqual(['clip']);
    expect(preload('OCR, clip, ocr')).toEqual(['ocr', 'clip']);
    expect(() => preload('faces')).toThrow('PRELOAD="faces": expected true, false, or a list of ocr, clip');
  });

  it('reads every variable', () => {
    const config = loadInferenceConfig({
      HTTP_PORT: '9000',
      HTTP_HOST: '127.0.0.1',
      DEVICE: 'CUDA',
      PRELOAD: 'yes',
      TASKS: 'ocr',
      API_AUTH_KEY: 'k',
      CLIP_DOWNLOAD_ROOT: '/models/clip',
      CLIP_MODEL: 'cn-clip:vit-b-16',
      OCR_MODEL_DIR: '/models/ocr',
      MAX_UPLOAD_BYTES: '1000',
      MAX_IMAGE_PIXELS: '2000',
      CLIP_CONCURRENCY: '3',
      QUEUE_SIZE: '0',
      THREADS: '4',
      OCR_WORKERS: '2',
      SHUTDOWN_TIMEOUT_MS: '500',
      UPLOAD_MEMORY_BYTES: '5000',
      HEADERS_TIMEOUT_MS: '1000',
      UPLOAD_TIMEOUT_MS: '2000',
      KEEP_ALIVE_TIMEOUT_MS: '3000',
      MAX_CONNECTIONS: '10',
      MAX_CONNECTIONS_PER_CLIENT: '0',
    });
    expect(config).toEqual({
      port: 9000,
      host: '127.0.0.1',
      device: 'cuda',
      preload: ['ocr', 'clip'],
      tasks: ['ocr'],
      apiAuthKey: 'k',
      clip: { root: '/models/clip', modelName: 'cn-clip:vit-b-16' },
      ocrModelDir: '/models/ocr',
      maxUploadBytes: 1000,
      maxImagePixels: 2000,
      uploadMemoryBytes: 5000,
      clipConcurrency: 3,
      queueSize: 0,
      threads: 4,
      ocrWorkers: 2,
      shutdownTimeoutMs: 500,
      http: {
        headersTimeoutMs: 1000,
        uploadTimeoutMs: 2000,
        keepAliveTimeoutMs: 3000,
        maxConnections: 10,
        maxConnectionsPerClient: 0,
      },
    });
  });

  it('refuses CONCURRENCY, which per-kind queues replaced, saying what to set instead', () => {
    expect(() => loadInferenceConfig({ CONCURRENCY: '2' })).toThrow(/CONCURRENCY="2": replaced by CLIP_CONCURRENCY/);
  });

  it('refuses settings that cannot work together', () => {
    expect(() => loadInferenceConfig({ HEADERS_TIMEOUT_MS: '5000', UPLOAD_TIMEOUT_MS: '1000' })).toThrow(
      /HEADERS_TIMEOUT_MS=5000: must not exceed UPLOAD_TIMEOUT_MS/,
    );
    expect(() => loadInferenceConfig({ MAX_UPLOAD_BYTES: '2000', UPLOAD_MEMORY_BYTES: '1000' })).toThrow(
      /UPLOAD_MEMORY_BYTES=1000: must be at least MAX_UPLOAD_BYTES/,
    );
  });

  it('treats an empty variable as unset', () => {
    expect(loadInferenceConfig({ HTTP_PORT: '', API_AUTH_KEY: '' })).toMatchObject({
      port: 8060,
      apiAuthKey: undefined,
    });
  });

  it.each([
    ['HTTP_PORT', 'eighty'],
    ['HTTP_PORT', '70000'],
    ['DEVICE', 'tpu'],
    ['PRELOAD', 'maybe'],
    ['TASKS', 'ocr,faces'],
    ['CLIP_MODEL', 'ViT-Z-99'],
    ['MAX_UPLOAD_BYTES', '0'],
    ['CLIP_CONCURRENCY', '0'],
    ['QUEUE_SIZE', '1.5'],
    ['UPLOAD_TIMEOUT_MS', '0'],
    ['MAX_CONNECTIONS', 'many'],
    ['MAX_CONNECTIONS_PER_CLIENT', '-1'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadInferenceConfig({ [name]: value })).toThrow(InferenceConfigError);
    expect(() => loadInferenceConfig({ [name]: value })).toThrow(new RegExp(`${name}=`));
  });

  it('lists every bad variable at once and never prints the API key', () => {
    try {
      loadInferenceConfig({ HTTP_PORT: 'x', DEVICE: 'y', API_AUTH_KEY: ' ' });
      throw new Error('expected a failure');
    } catch (error) {
      expect(error).toBeInstanceOf(InferenceConfigError);
      expect((error as InferenceConfigError).problems.map((p) => p.split('=')[0]).sort()).toEqual([
        'DEVICE',
        'HTTP_PORT',
      ]);
    }
  });
});
