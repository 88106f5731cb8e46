/**
 * Contract 2: the MT-Photos AI API (the original Python mt-photos-ai service's shapes).
 * Every route but /ping needs header `api-key`. Numbers are strings.
 */

export const MT_PHOTOS_KEY_HEADER = 'api-key';

export interface MtCheckResponse {
  result: 'pass';
  title: string;
  help: string;
  device: 'cpu' | 'cuda';
}

export interface MtOcrBox {
  /** Pixels of the image sent, 2 decimals, axis-aligned. */
  x: string;
  y: string;
  width: string;
  height: string;
}
export interface MtOcrResponse {
  result: { texts: string[]; scores: string[]; boxes: MtOcrBox[] };
}

/** /clip/img and /clip/txt: 512 stringified floats. */
export interface MtClipResponse {
  result: string[];
}

export interface MtClipTextRequest {
  text: string;
}

/** Failure body, always with a real 4xx/5xx status. */
export interface MtErrorBody {
  result: [];
  msg: string;
}
