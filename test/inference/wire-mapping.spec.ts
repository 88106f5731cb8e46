import { clipNameMismatch } from '../../src/inference/http/clip-model-names';
import { toImmichOcr, toMtPhotosEmbedding, toMtPhotosOcr } from '../../src/inference/http/wire-mapping';
import type { OcrOutput } from '../../src/inference/ocr/ocr-types';

const output: OcrOutput = {
  width: 200,
  height: 100,
  lines: [
    { text: 'straight', score: 0.95, boxScore: 0.9, box: [10, 20, 110, 20, 110, 40, 10, 40] },
    { text: 'tilted', score: 0.85, boxScore: 0.6, box: [20, 60, 120, 50, 122, 70, 22, 80] },
    { text: 'faint', score: 0.5, boxScore: 0.4, box: [0, 0, 5, 0, 5, 5, 0, 5] },
    { text: 'overhang', score: 0.99, boxScore: 0.99, box: [-3, 90, 205, 90, 205, 104, -3, 104] },
  ],
  timings: { decodeMs: 0, detectMs: 0, classifyMs: 0, recogniseMs: 0, totalMs: 0 },
  detector: { width: 32, height: 32 },
};

describe('Contract 1 OCR mapping', () => {
  it('gives 8 numbers per text, x by width and y by height, clamped to 0..1', () => {
    const result = toImmichOcr(output);
    expect(result.text).toEqual(['straight', 'tilted', 'faint', 'overhang']);
    expect(result.box.slice(0, 8)).toEqual([0.05, 0.2, 0.55, 0.2, 0.55, 0.4, 0.05, 0.4]);
    expect(result.box.slice(24)).toEqual([0, 0.9, 1, 0.9, 1, 1, 0, 1]);
    expect(result.boxScore).toEqual([0.9, 0.6, 0.4, 0.99]);
    expect(result.textScore).toEqual([0.95, 0.85, 0.5, 0.99]);
  });

  it('keeps only boxes and texts at or above the minimum scores', () => {
    expect(toImmichOcr(output, { minBoxScore: 0.5, minTextScore: 0.9 }).text).toEqual(['straight', 'overhang']);
    expect(toImmichOcr(output, { minBoxScore: 0.6, minTextScore: 0.85 }).text).toEqual([
      'straight',
      'tilted',
      'overhang',
    ]);
  });
});

describe('Contract 2 OCR mapping', () => {
  it('gives axis-aligned pixel rectangles around each quad, strings with 2 decimals', () => {
    const { result } = toMtPhotosOcr(output);
    expect(result.texts).toEqual(['straight', 'tilted', 'faint', 'overhang']);
    expect(result.scores).toEqual(['0.95', '0.85', '0.50', '0.99']);
    expect(result.boxes[0]).toEqual({ x: '10.00', y: '20.00', width: '100.00', height: '20.00' });
    expect(result.boxes[1]).toEqual({ x: '20.00', y: '50.00', width: '102.00', height: '30.00' });
    expect(result.boxes[3]).toEqual({ x: '0.00', y: '90.00', width: '200.00', height: '10.00' });
  });

  it('writes embeddings as strings with 16 decimals', () => {
    expect(toMtPhotosEmbedding(Float32Array.of(0.5, -0.25))).toEqual(['0.5000000000000000', '-0.2500000000000000']);
  });
});

describe('CLIP model names', () => {
  it.each(['ViT-B-16__openai', 'ViT-B-32__laion2b-s34b-b79k', 'RN101__openai', 'immich-app/ViT-B-32__openai'])(
    'accepts the 512-d name %s',
    (name) => expect(clipNameMismatch(name, 512)).toBeUndefined(),
  );
  it.each([
    'ViT-L-14__openai',
    'ViT-B-16-SigLIP__webli',
    'RN50__openai',
    'RN50x4__openai',
    'ViT-B-16-plus-240__laion400m_e31',
    'nllb-clip-base-siglip__v1',
    'XLM-Roberta-Large-Vit-L-14',
    'ViT-H-14-quickgelu__dfn5b',
  ])('refuses %s, which Immich sizes other than 512', (name) => expect(clipNameMismatch(name, 512)).toMatch(/512/));
});
