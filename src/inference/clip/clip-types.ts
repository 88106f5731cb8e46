import type { ImageInfo } from '../../shared/image/decode';
import type { Device } from '../onnx/session';

export interface ClipEncoder {
  readonly modelName: string;
  readonly dimensions: number;
  readonly device: Device;
  /**
   * Encoded image bytes -> L2-normalised embedding. Throws ImageInputError for bad images. `info` is
   * the header the caller has already read (readImageInfo), so it is not read twice.
   */
  encodeImage(image: Buffer, info?: ImageInfo): Promise<{ embedding: Float32Array; width: number; height: number }>;
  /** Text -> L2-normalised embedding. */
  encodeText(text: string): Promise<Float32Array>;
  close(): Promise<void>;
}
