import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIBRARY_FIXTURE_DIR } from './library-set';

/**
 * The real-image OCR sets (test/fixtures/ocr-real-tuning/, ocr-real-heldout/): screenshots and
 * photographs with known text, each folder's truth.json giving every image's lines in reading order.
 * The tuning half is where the detector's sizing and the column merge were chosen; the held-out half
 * judges them.
 */
export type RealSetName = 'tuning' | 'heldout';

export interface RealImage {
  set: RealSetName;
  name: string;
  buf: Buffer;
  /** Lines in reading order (vertical columns right to left); empty for an image with no text. */
  lines: string[];
}

export const realSetDir = (set: RealSetName) => join(LIBRARY_FIXTURE_DIR, `ocr-real-${set}`);

export function loadRealSet(set: RealSetName): RealImage[] {
  const truth: Record<string, string[]> = JSON.parse(readFileSync(join(realSetDir(set), 'truth.json'), 'utf8'));
  return Object.entries(truth).map(([name, lines]) => ({
    set,
    name,
    lines,
    buf: readFileSync(join(realSetDir(set), `${name}.png`)),
  }));
}
