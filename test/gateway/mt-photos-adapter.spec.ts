import {
  MtPhotosAnswerError,
  convertClip,
  convertOcr,
  normaliseBox,
  ocrMinScores,
  parseMtClip,
  parseMtOcr,
} from '../../src/gateway/mt-photos-adapter';
import { MtOcrResponse } from '../../src/shared/wire/mt-photos';

const image = { width: 200, height: 100 };

describe('mt-photos adapter', () => {
  it('turns a pixel rectangle into a normalised quadrilateral, clockwise from top-left', () => {
    expect(normaliseBox({ x: '20.00', y: '10.00', width: '100.00', height: '30.00' }, image)).toEqual([
      0.1, 0.1, 0.6, 0.1, 0.6, 0.4, 0.1, 0.4,
    ]);
  });

  it('clamps boxes that overshoot the image to 0..1', () => {
    expect(normaliseBox({ x: '-2.00', y: '90.00', width: '210.00', height: '20.00' }, image)).toEqual([
      0, 0.9, 1, 0.9, 1, 1, 0, 1,
    ]);
  });

  it('converts scores to numbers and filters with Immich’s minScores (>=)', () => {
    const answer: MtOcrResponse = {
      result: {
        texts: ['a', 'b', 'c'],
        scores: ['0.80', '0.79', '0.99'],
        boxes: [
          { x: '0', y: '0', width: '10', height: '10' },
          { x: '0', y: '0', width: '10', height: '10' },
          { x: '100', y: '50', width: '100', height: '50' },
        ],
      },
    };
    const result = convertOcr(answer, image);
    expect(result.text).toEqual(['a', 'c']);
    expect(result.textScore).toEqual([0.8, 0.99]);
    expect(result.boxScore).toEqual([0.8, 0.99]);
    expect(result.box).toEqual([0, 0, 0.05, 0, 0.05, 0.1, 0, 0.1, 0.5, 0.5, 1, 0.5, 1, 1, 0.5, 1]);
  });

  it('uses Immich’s defaults when the request has no options', () => {
    expect(ocrMinScores()).toEqual({ detection: 0.5, recognition: 0.8 });
    expect(
      ocrMinScores({ detection: { modelName: 'm', options: { minScore: 0.3 } }, recognition: { modelName: 'm' } }),
    ).toEqual({ detection: 0.3, recognition: 0.8 });
  });

  it('accepts numbers where strings are expected (forks differ)', () => {
    const answer = { result: { texts: ['x'], scores: [0.9], boxes: [{ x: 0, y: 0, width: 200, height: 100 }] } };
    expect(convertOcr(parseMtOcr(answer), image).box).toEqual([0, 0, 1, 0, 1, 1, 0, 1]);
  });

  it('an empty OCR result is an empty Immich result', () => {
    expect(convertOcr(parseMtOcr({ result: { texts: [], scores: [], boxes: [] } }), image)).toEqual({
      text: [],
      box: [],
      boxScore: [],
      textScore: [],
    });
  });

  it('converts a CLIP result to Immich’s string-encoded embedding with the same values', () => {
    const embedding = convertClip(parseMtClip({ result: ['0.0123456789012345', '-1.0000000000000000', '3e-5'] }));
    expect(embedding).toBe('[0.0123456789012345,-1,0.00003]');
    expect(JSON.parse(embedding)).toEqual([0.0123456789012345, -1, 0.00003]);
  });

  it.each([
    [{ result: [], msg: 'boom' }, /answered with an error: boom/],
    [{ nothing: true }, /without a "result"/],
    [{ result: { texts: ['a'], scores: [], boxes: [] } }, /1 texts with 0 scores and 0 boxes/],
    [
      { result: { texts: ['a'], scores: ['x'], boxes: [{ x: '0', y: '0', width: '1', height: '1' }] } },
      /scores\[0\] is not a number/,
    ],
  ])('refuses a malformed OCR answer %j', (body, message) => {
    expect(() => convertOcr(parseMtOcr(body), image)).toThrow(message);
    expect(() => convertOcr(parseMtOcr(body), image)).toThrow(MtPhotosAnswerError);
  });

  it.each([
    [{ result: [], msg: 'CUDA out of memory' }, /answered with an error: CUDA out of memory/],
    [{ result: [] }, /empty embedding/],
    [{ result: ['0.1', ''] }, /result\[1\] is not a number/],
  ])('refuses a malformed CLIP answer %j', (body, message) => {
    expect(() => convertClip(parseMtClip(body))).toThrow(message);
  });
});
