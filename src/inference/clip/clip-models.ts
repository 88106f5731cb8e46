/**
 * The Chinese-CLIP model family (cn_clip/clip/utils.py `_MODEL_INFO`): input resolution of the image
 * tower and width of the shared embedding space (cn_clip/clip/model_configs/*.json `embed_dim`).
 */
export interface ClipModelSpec {
  /** Canonical name, as Chinese-CLIP spells it; also the folder name under CLIP_DOWNLOAD_ROOT. */
  name: ClipModelName;
  /** Side of the square image the visual tower takes. */
  imageSize: number;
  /** Length of the embedding both towers produce. */
  dimensions: number;
  /** File-name prefix of the ONNX exports (`--save-onnx-path` in cn_clip/deploy): `vit-b-16`. */
  filePrefix: string;
}

export type ClipModelName = 'ViT-B-16' | 'RN50' | 'ViT-L-14' | 'ViT-L-14-336' | 'ViT-H-14';

/** Text context length every released cn-clip checkpoint was trained with ([CLS] + 50 + [SEP]). */
export const CLIP_CONTEXT_LENGTH = 52;

const table: Record<ClipModelName, { imageSize: number; dimensions: number }> = {
  'ViT-B-16': { imageSize: 224, dimensions: 512 },
  RN50: { imageSize: 224, dimensions: 1024 },
  'ViT-L-14': { imageSize: 224, dimensions: 768 },
  'ViT-L-14-336': { imageSize: 336, dimensions: 768 },
  'ViT-H-14': { imageSize: 224, dimensions: 1024 },
};

export const CLIP_MODELS: readonly ClipModelSpec[] = Object.entries(table).map(([name, info]) => ({
  name: name as ClipModelName,
  ...info,
  filePrefix: name.toLowerCase(),
}));

export class UnknownClipModelError extends Error {
  constructor(readonly requested: string) {
    super(`unknown cn-clip model "${requested}"; known models: ${CLIP_MODELS.map((m) => m.name).join(', ')}`);
    this.name = 'UnknownClipModelError';
  }
}

/**
 * Looks a model up by any spelling people use for it: `ViT-B-16`, `vit-b-16`, `ViT-B/16`,
 * `cn-clip:ViT-B-16`, `CN-CLIP-ViT-B-16`, `chinese-clip-vit-l-14-336px`, `ViT-L-14@336px`.
 */
export function resolveClipModel(name: string): ClipModelSpec {
  const key = normalise(name);
  const spec = CLIP_MODELS.find((model) => normalise(model.name) === key);
  if (!spec) throw new UnknownClipModelError(name);
  return spec;
}

function normalise(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s_/@:]+/g, '-')
    .replace(/^(cn-?clip|chinese-?clip)-+/, '')
    .replace(/-(\d+)px$/, '-$1');
}
