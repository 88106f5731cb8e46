import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { InferenceConfig, InferenceTask } from '../../config/inference.config';
import { ClipModelMissingError, type ClipPart } from '../clip/clip-engine';
import { resolveClipModel } from '../clip/clip-models';
import { OcrModelMissingError } from '../ocr/model-files';
import type { OcrReader } from '../ocr/ocr-types';
import type { Device } from '../onnx/session';
import type { ClipModel, InferenceEngines } from './engines';
import { ModelUnavailableError, publicModelError, UnsupportedRequestError } from './errors';
import { INFERENCE_CONFIG, INFERENCE_ENGINES } from './inference.tokens';
import { MetricsService } from './metrics.service';

/** A model as /health and /metrics name it: the OCR pipeline, or one half of CLIP. */
export type ModelName = 'ocr' | 'clip_image' | 'clip_text';

export type ModelState = 'unloaded' | 'loading' | 'ready' | 'failed';

export interface ModelStatus {
  model: ModelName;
  state: ModelState;
  /** Open, or not yet opened with its files in place and no failed load since. */
  loadable: boolean;
  device?: Device;
  loadSeconds?: number;
  error?: string;
}

/** Opened on first `get()`; concurrent first callers share one load; a failed load is retried next time. */
class Lazy<T> {
  private pending?: Promise<T>;
  private value?: T;
  lastError?: Error;
  loadSeconds?: number;

  constructor(private readonly open: () => Promise<T>) {}

  get current(): T | undefined {
    return this.value;
  }

  get state(): ModelState {
    if (this.value !== undefined) return 'ready';
    if (this.pending) return 'loading';
    return this.lastError ? 'failed' : 'unloaded';
  }

  get(): Promise<T> {
    if (this.value !== undefined) return Promise.resolve(this.value);
    if (!this.pending) {
      const pending = this.load();
      this.pending = pending;
      const forget = () => {
        if (this.pending === pending) this.pending = undefined;
      };
      pending.then(forget, forget);
    }
    return this.pending;
  }

  /** Forgets the value; returns it (or the one still loading) so the caller can release it. */
  async take(): Promise<T | undefined> {
    const value = this.value ?? (await this.pending?.catch(() => undefined));
    this.value = undefined;
    this.pending = undefined;
    return value;
  }

  private async load(): Promise<T> {
    const started = performance.now();
    try {
      const value = await this.open();
      this.loadSeconds = (performance.now() - started) / 1000;
      this.value = value;
      this.lastError = undefined;
      return value;
    } catch (error) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
      throw this.lastError;
    }
  }
}

/**
 * Opens the OCR reader and the two halves of the CLIP encoder on first use (or at start with
 * PRELOAD=true), keeps them for the life of the app and releases them on shutdown. Knows which
 * tasks this instance serves, and whether their models can be used (/health).
 */
@Injectable()
export class ModelRegistry implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ModelRegistry');
  private readonly ocrReader: Lazy<OcrReader>;
  /** The encoder object itself: opening it reads no weights. */
  private readonly clipEncoder: Lazy<ClipModel>;
  private readonly clipParts: Record<ClipPart, Lazy<ClipModel>>;
  private readonly lastLoggedFailure = new Map<ModelName, string>();

  constructor(
    @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
    @Inject(INFERENCE_ENGINES) private readonly engines: InferenceEngines,
    private readonly metrics: MetricsService,
  ) {
    const common = { device: config.device, threads: config.threads || undefined, maxPixels: config.maxImagePixels };
    this.ocrReader = this.timed('ocr', async () => {
      const reader = await engines.openOcr({
        ...common,
        modelDir: config.ocrModelDir,
        config: config.ocrSettings,
        workers: config.ocrWorkers,
        warmUp: config.preload.includes('ocr'),
      });
      return { value: reader, device: reader.device };
    });
    this.clipEncoder = new Lazy(() =>
      engines.openClip({ ...common, root: config.clip.root, modelName: config.clip.modelName }),
    );
    const part = (name: ClipPart) =>
      this.timed(`clip_${name}`, async () => {
        const encoder = await this.clipEncoder.get();
        await encoder.load(name);
        return { value: encoder, device: encoder.device };
      });
    this.clipParts = { image: part('image'), text: part('text') };
  }

  /** Embedding size of the configured cn-clip model, known without loading it. */
  clipDimensions(): number {
    return resolveClipModel(this.config.clip.modelName).dimensions;
  }

  serves(task: InferenceTask): boolean {
    return this.config.tasks.includes(task);
  }

  ocr(): Promise<OcrReader> {
    this.assertServed('ocr');
    return this.ocrReader.get();
  }

  /** The encoder with `part` loaded: a text-only caller never waits for the image weights. */
  clip(part: ClipPart): Promise<ClipModel> {
    this.assertServed('clip');
    return this.clipParts[part].get();
  }

  /**
   * The device really in use (after any CUDA fallback), read from an opened session; loads the first
   * served model if none is open yet, because only an opened session can tell.
   */
  async device(): Promise<Device> {
    const open = this.ocrReader.current ?? this.clipParts.image.current ?? this.clipParts.text.current;
    if (open) return open.device;
    return this.serves('ocr') ? (await this.ocr()).device : (await this.clip('text')).device;
  }

  /** Whether each model the served tasks need can be used, without loading anything. */
  async status(): Promise<ModelStatus[]> {
    const checks: Array<Promise<ModelStatus>> = [];
    if (this.serves('ocr')) checks.push(this.ocrStatus());
    if (this.serves('clip')) checks.push(this.clipStatus('image'), this.clipStatus('text'));
    return Promise.all(checks);
  }

  /** Whether a model that PRELOAD opens at start is not ready yet: /health then says "loading". */
  preloading(): boolean {
    return this.preloads().some((model) => ['unloaded', 'loading'].includes(this.lazyFor(model).state));
  }

  /**
   * PRELOAD (default OCR) opens models in the background once the app is up (the OCR engine also
   * reads made-up photos, so the first real one is as fast as the tenth); requests that come
   * meanwhile wait for the same load.
   */
  onApplicationBootstrap(): void {
    const models = this.preloads();
    // Sequential: loads compete for the same cores and memory, and the log stays readable.
    void (async () => {
      for (const model of models) {
        // Not fatal: the service still answers what did load, the failure is logged, and /health says why.
        await this.lazyFor(model)
          .get()
          .catch(() => undefined);
      }
    })();
  }

  /** The models PRELOAD names among those this instance serves. */
  private preloads(): ModelName[] {
    const wanted = (task: InferenceTask) => this.serves(task) && this.config.preload.includes(task);
    return [
      ...(wanted('ocr') ? (['ocr'] as const) : []),
      ...(wanted('clip') ? (['clip_image', 'clip_text'] as const) : []),
    ];
  }

  private lazyFor(model: ModelName): Lazy<unknown> {
    return model === 'ocr' ? this.ocrReader : this.clipParts[model === 'clip_image' ? 'image' : 'text'];
  }

  /** Runs after the HTTP server has closed, so no request still uses a session being released. */
  async onApplicationShutdown(): Promise<void> {
    await this.clipParts.image.take();
    await this.clipParts.text.take();
    const [reader, encoder] = await Promise.all([this.ocrReader.take(), this.clipEncoder.take()]);
    await Promise.all([reader?.close(), encoder?.close()]);
  }

  private async ocrStatus(): Promise<ModelStatus> {
    const known = this.known('ocr', this.ocrReader);
    if (known) return known;
    try {
      await this.engines.checkOcr(this.config.ocrModelDir);
      return { model: 'ocr', state: this.ocrReader.state, loadable: true };
    } catch (error) {
      return { model: 'ocr', state: this.ocrReader.state, loadable: false, error: publicModelError(error, 'ocr') };
    }
  }

  private async clipStatus(part: ClipPart): Promise<ModelStatus> {
    const model: ModelName = `clip_${part}`;
    const lazy = this.clipParts[part];
    const known = this.known(model, lazy);
    if (known) return known;
    try {
      const encoder = await this.clipEncoder.get();
      const files = await encoder.checkInstalled(part);
      if (files.installed) return { model, state: lazy.state, loadable: true };
      const missing = new ClipModelMissingError(encoder.modelName, part, files.missing[0], files.dir);
      return { model, state: lazy.state, loadable: false, error: missing.publicMessage };
    } catch (error) {
      return { model, state: lazy.state, loadable: false, error: publicModelError(error, model) };
    }
  }

  /** The status of a model that is open or whose last load failed; undefined when the files decide. */
  private known(model: ModelName, lazy: Lazy<{ device: Device }>): ModelStatus | undefined {
    const base = { model, state: lazy.state, loadSeconds: lazy.loadSeconds };
    if (lazy.state === 'ready') return { ...base, loadable: true, device: lazy.current?.device };
    if (lazy.state === 'failed') return { ...base, loadable: false, error: publicModelError(lazy.lastError, model) };
    return undefined;
  }

  private assertServed(task: InferenceTask): void {
    if (!this.serves(task)) {
      throw new UnsupportedRequestError(
        `task "${task}" is not served by this instance (TASKS=${this.config.tasks.join(',')})`,
      );
    }
  }

  /** A lazy model whose loads are timed, logged and counted in /metrics. */
  private timed<T>(model: ModelName, open: () => Promise<{ value: T; device: Device }>): Lazy<T> {
    return new Lazy(async () => {
      const started = performance.now();
      try {
        const { value, device } = await open();
        this.lastLoggedFailure.delete(model);
        const seconds = (performance.now() - started) / 1000;
        this.metrics.modelLoadSeconds.set({ model, device }, seconds);
        this.logger.log(`${model} model loaded on ${device} in ${seconds.toFixed(2)} s`);
        return value;
      } catch (error) {
        this.metrics.modelLoadFailures.inc({ model });
        const wrapped = asModelError(model, error);
        // Every request retries a failed load; say it once per distinct reason, not once per request.
        if (this.lastLoggedFailure.get(model) !== wrapped.message) {
          this.lastLoggedFailure.set(model, wrapped.message);
          this.logger.error(wrapped.message);
        }
        throw wrapped;
      }
    });
  }
}

/**
 * Missing-file errors from the engines already name the file and pass through as they are (the
 * filter answers 503 with their message); anything else is wrapped so it still becomes a 503.
 */
function asModelError(model: ModelName, error: unknown): Error {
  if (error instanceof ClipModelMissingError || error instanceof OcrModelMissingError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ModelUnavailableError(model, `the ${model} model could not be loaded: ${message}`);
}
