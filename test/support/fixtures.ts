import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const OCR_FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'ocr');

/** name -> expected lines, as rendered into test/fixtures/ocr/<name>.jpg */
export const ocrTruth: Record<string, string[]> = JSON.parse(readFileSync(join(OCR_FIXTURE_DIR, 'truth.json'), 'utf8'));

export const ocrFixture = (name: string): Buffer => readFileSync(join(OCR_FIXTURE_DIR, `${name}.jpg`));
export const ocrFixturePath = (name: string): string => join(OCR_FIXTURE_DIR, `${name}.jpg`);
