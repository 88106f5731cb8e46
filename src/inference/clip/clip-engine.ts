import { basename, join } from 'node:path';
import type { ImageInfo } from '../../shared/image/decode';
import { type Device, openSession, ort } from '../onnx/session';
import {
  type ClipPart,
  type ClipPartFiles,
  type ClipPrecision,
  clipModelDir,
  clipModelFileName,
  findClipPartFiles,
} from './clip-model-files';
import { type ClipModelSpec, resolveClipModel } from './clip-models';
import { preprocessClipImage } from './clip-preprocess';
import type { ClipEncoder } from './clip-types';
import { ClipTokenizer } from './tokenizer';

export type { ClipPart } from './clip-model-files';

export interface ClipEngineOptions {
  /** CLIP_DOWNLOAD_ROOT: the model is read from `<root>/<modelName>/`. */
  root: string;
  /** Any spelling `resolveClipModel` accepts: `ViT-B-16`, `cn-clip:vit-b-16`, ... */
  modelName: string;
  device?: Device;
  /** Threads per model run; onnxruntime's default (every core) when absent. */
  threads?: number;
  /** Images with more pixels are refused before decoding. */
  maxPixels?: number;
}

/** What a health check needs to know about one half of the model, found without loading it. */
export interface ClipPartStatus {
  part: ClipPart;
  installed: boolean;
  dir: string;
  /** The ONNX file that would load, and its precision. */
  model?: string;
  precision?: ClipPrecision;
  /** Files to add before this part can work. */
  missing: string[];
}

export class ClipModelMissingError extends Error {
  /** The same without this machine's paths: the file and the variable that says where (for HTTP answers). */
  readonly publicMessage: string;

  constructor(
    readonly modelName: string,
    readonly part: ClipPart,
    /** The first missing file. */
    readonly path: string,
    readonly dir: string,
  ) {
    super(
      `cn-clip ${modelName} ${part} model is not installed: ${path} is missing; ` +
        `put the files in ${dir} or run \`immich-ai models download clip ${modelName}\``,
    );
    this.name = 'ClipModelMissingError';
    this.publicMessage =
      `cn-clip ${modelName} ${part} model is not installed: ${basename(path)} is missing from ` +
      `$CLIP_DOWNLOAD_ROOT/${basename(dir)}; put the files there or run \`immich-ai models download clip ${modelName}\``;
  }
}

interface LoadedPart {
  session: ort.InferenceSession;
  device: Device;
  precision: ClipPrecision;
  path: string;
  /** Text part only. */
  tokenizer?: ClipTokenizer;
}

/** The ONNX export's tensor names (cn_clip/deploy/pytorch_to_onnx.py). */
const IO: Record<ClipPart, { input: string; output: string }> = {
  image: { input: 'image', output: 'unnorm_image_features' },
  text: { input: 'text', output: 'unnorm_text_features' },
};

/**
 * Chinese-CLIP on onnxruntime. The image and text towers are separate ONNX files that load lazily
 * and independently: a text-only search node never needs the 330 MB image model, and an indexing
 * worker never needs the text model. A part that failed to load (file missing) is retried on the
 * next call, so files put in place after start-up are picked up without a restart.
 */
export class ClipEngine implements ClipEncoder {
  readonly modelName: string;
  readonly dimensions: number;
  private readonly parts: Partial<Record<ClipPart, Promise<LoadedPart>>> = {};
  private actualDevice?: Device;

  private constructor(
    readonly spec: ClipModelSpec,
    private readonly root: string,
    private readonly options: Omit<ClipEngineOptions, 'root' | 'modelName'>,
  ) {
    this.modelName = spec.name;
    this.dimensions = spec.dimensions;
  }

  /** `<root>/<ModelName>/`, looked up on each use so that a folder created after start-up is found. */
  get dir(): string {
    return clipModelDir(this.root, this.spec);
  }

  /** Resolves the model name (UnknownClipModelError if it is not a cn-clip model); loads nothing. */
  static async open({ root, modelName, ...options }: ClipEngineOptions): Promise<ClipEngine> {
    return new ClipEngine(resolveClipModel(modelName), root, options);
  }

  /** The device in use: the requested one until a model has loaded, 'cpu' after a CUDA fallback. */
  get device(): Device {
    return this.actualDevice ?? this.options.device ?? 'cpu';
  }

  async checkInstalled(part: ClipPart): Promise<ClipPartStatus> {
    const files = await this.findFiles(part);
    return {
      part,
      installed: files.missing.length === 0,
      dir: files.dir,
      model: files.model,
      precision: files.precision,
      missing: files.missing,
    };
  }

  /** Loads a part now (warm-up at start-up) instead of on its first request. */
  async load(part: ClipPart): Promise<void> {
    await this.part(part);
  }

  async encodeImage(
    image: Buffer,
    info?: ImageInfo,
  ): Promise<{ embedding: Float32Array; width: number; height: number }> {
    const { session } = await this.part('image');
    const size = this.spec.imageSize;
    const tensor = await preprocessClipImage(image, size, this.options.maxPixels, info);
    const input = new ort.Tensor('float32', tensor.data, [1, 3, size, size]);
    const embedding = await this.run(session, 'image', input);
    return { embedding, width: tensor.width, height: tensor.height };
  }

  async encodeText(text: string): Promise<Float32Array> {
    const { session, tokenizer } = await this.part('text');
    const ids = tokenizer!.tokenize(text);
    return this.run(session, 'text', new ort.Tensor('int64', ids, [1, ids.length]));
  }

  /** Releases the sessions; a later call would load them again. */
  async close(): Promise<void> {
    const loading = Object.values(this.parts);
    for (const key of Object.keys(this.parts)) delete this.parts[key as ClipPart];
    const settled = await Promise.allSettled(loading);
    await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.session.release() : undefined)));
  }

  private findFiles(part: ClipPart): Promise<ClipPartFiles> {
    // fp16 halves the memory and is what Chinese-CLIP deploys on GPUs; on CPU fp16 arithmetic is
    // emulated and slower, so fp32 comes first there.
    const order: ClipPrecision[] = this.options.device === 'cuda' ? ['fp16', 'fp32'] : ['fp32', 'fp16'];
    return findClipPartFiles(this.dir, this.spec, part, order);
  }

  private part(part: ClipPart): Promise<LoadedPart> {
    let loading = this.parts[part];
    if (!loading) {
      loading = this.loadPart(part);
      this.parts[part] = loading;
      // Forget a failed load so that the next request tries again (files may appear later).
      loading.catch(() => {
        if (this.parts[part] === loading) delete this.parts[part];
      });
    }
    return loading;
  }

  private async loadPart(part: ClipPart): Promise<LoadedPart> {
    const files = await this.findFiles(part);
    if (files.missing.length > 0 || !files.model || !files.precision) {
      const path = files.missing[0] ?? join(files.dir, clipModelFileName(this.spec, part));
      throw new ClipModelMissingError(this.modelName, part, path, files.dir);
    }
    const tokenizer = files.vocab ? await ClipTokenizer.fromVocabFile(files.vocab) : undefined;

    const sessionOptions = { device: this.options.device, threads: this.options.threads };
    let model = files.model;
    let precision = files.precision;
    let loaded = await openSession(model, sessionOptions);
    if (loaded.device === 'cpu' && precision === 'fp16') {
      // CUDA was asked for but is not there: an fp32 export, if present, is the faster one on CPU.
      const fp32 = await findClipPartFiles(this.dir, this.spec, part, ['fp32']);
      if (fp32.model) {
        await loaded.session.release();
        model = fp32.model;
        precision = 'fp32';
        loaded = await openSession(model, { ...sessionOptions, device: 'cpu' });
      }
    }
    const { input, output } = IO[part];
    const { session } = loaded;
    if (!session.inputNames.includes(input) || !session.outputNames.includes(output)) {
      await session.release();
      throw new Error(
        `${model} is not a cn-clip ${part} export: expected input "${input}" and output "${output}", ` +
          `found inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]`,
      );
    }
    this.actualDevice = loaded.device;
    return { session, device: loaded.device, precision, path: model, tokenizer };
  }

  private async run(session: ort.InferenceSession, part: ClipPart, input: ort.Tensor): Promise<Float32Array> {
    const { input: inputName, output: outputName } = IO[part];
    const result = await session.run({ [inputName]: input }, [outputName]);
    const tensor = result[outputName];
    const width = tensor.dims[tensor.dims.length - 1];
    if (tensor.size !== this.dimensions || width !== this.dimensions) {
      throw new Error(
        `cn-clip ${this.modelName} ${part} model produced [${tensor.dims.join(', ')}], expected [1, ${this.dimensions}]: ` +
          `are the files in ${this.dir} for another model size?`,
      );
    }
    return l2Normalise(toFloat32(tensor));
  }
}

/** Outputs are float32, or float16 from an fp16 export without keep_io_types (raw halves in a Uint16Array). */
export function toFloat32(tensor: ort.Tensor): Float32Array {
  const data = tensor.data;
  if (tensor.type === 'float32') return Float32Array.from(data as Float32Array);
  if (tensor.type === 'float16') {
    if (data instanceof Uint16Array) return Float32Array.from(data, halfToFloat);
    return Float32Array.from(data as ArrayLike<number>); // a runtime with Float16Array
  }
  throw new Error(`unexpected ${tensor.type} output from a cn-clip model`);
}

/** IEEE 754 binary16 bits -> number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Unit length, so that a dot product is the cosine similarity pgvector and Immich expect. */
export function l2Normalise(values: Float32Array): Float32Array {
  let sum = 0;
  for (const v of values) sum += v * v;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < values.length; i++) values[i] /= norm;
  return values;
}
