import { HttpError } from '../../src/shared/http/http-error';
import { parseEntries } from '../../src/shared/wire/entries';
import { WIRE_LIMITS } from '../../src/shared/wire/limits';
import { planPredict } from '../../src/inference/http/predict-entries';
import { UnsupportedRequestError } from '../../src/inference/http/errors';
import { FACE_ENTRIES, immichEntries } from '../support/immich-entries';

/** The one `entries` validator, used by the gateway (to route) and the inference service (to plan). */
describe('parseEntries (shared by both services)', () => {
  const refusal = (raw: string | undefined): HttpError => {
    try {
      parseEntries(raw);
    } catch (error) {
      expect(error).toBeInstanceOf(HttpError);
      return error as HttpError;
    }
    throw new Error(`expected ${raw} to be refused`);
  };

  it('accepts every shape Immich v2.4.1 sends, and keeps it as sent', () => {
    const shapes = [immichEntries.clipVisual(), immichEntries.clipTextual(), FACE_ENTRIES, immichEntries.ocr()];
    for (const shape of shapes) {
      const parsed = parseEntries(JSON.stringify(shape));
      expect(parsed.raw).toEqual(shape);
      expect(parsed.tasks).toEqual(Object.keys(shape));
    }
  });

  it("maps Immich's OCR options, and fills in Immich's defaults for ones a client leaves out", () => {
    expect(parseEntries(JSON.stringify(immichEntries.ocr('PP-OCRv5_server', 0.3, 0.9, 1024))).ocr).toEqual({
      modelName: 'PP-OCRv5_server',
      minDetectionScore: 0.3,
      minRecognitionScore: 0.9,
      maxResolution: 1024,
    });
    const bare = { ocr: { detection: { modelName: 'x' }, recognition: { modelName: 'x' } } };
    expect(parseEntries(JSON.stringify(bare)).ocr).toMatchObject({
      minDetectionScore: 0.5,
      minRecognitionScore: 0.8,
      maxResolution: 736,
    });
    expect(parseEntries(JSON.stringify(immichEntries.ocr('m', 0.5, 0.8, 900.4))).ocr?.maxResolution).toBe(900);
  });

  it('reads both CLIP halves and tolerates options it does not use', () => {
    expect(parseEntries(JSON.stringify(immichEntries.clipVisual())).clip).toEqual({
      part: 'visual',
      modelName: 'ViT-B-16__openai',
    });
    const textual = { clip: { textual: { modelName: 'm', options: { language: 'en', future: 1 } } } };
    expect(parseEntries(JSON.stringify(textual)).clip).toEqual({ part: 'textual', modelName: 'm' });
  });

  it('passes a task it does not know through (the gateway routes it to Immich ML)', () => {
    const entries = { 'image-captioning': { captioning: { modelName: 'blip' } } };
    expect(parseEntries(JSON.stringify(entries)).tasks).toEqual(['image-captioning']);
  });

  it.each([
    [undefined, 'the "entries" field is missing'],
    ['nope', /not valid JSON/],
    ['[]', '"entries" must be a JSON object of tasks'],
    ['{}', '"entries" names no task'],
    ['{"clip":"visual"}', 'entries.clip must be an object of model types'],
    ['{"clip":{"visual":{"modelName":""}}}', 'entries.clip.visual needs a "modelName" string'],
    ['{"clip":{"visual":{"modelName":"m","options":[1]}}}', 'entries.clip.visual.options must be an object'],
    ['{"clip":{"visual":{"modelName":"m"},"textual":{"modelName":"m"}}}', /entries.clip must have exactly one/],
    ['{"ocr":{"detection":{"modelName":"x"}}}', 'entries.ocr.recognition is required'],
  ])('refuses %p with 422', (raw, message) => {
    const error = refusal(raw);
    expect(error.status).toBe(422);
    expect(error.message).toMatch(message);
  });

  it.each([
    ['maxResolution 0', immichEntries.ocr('m', 0.5, 0.8, 0), 'detection.options.maxResolution'],
    ['maxResolution over the cap', immichEntries.ocr('m', 0.5, 0.8, WIRE_LIMITS.maxResolution + 1), 'maxResolution'],
    ['maxResolution 1e400 (Infinity)', null, 'maxResolution'],
    ['a detection score of 2', immichEntries.ocr('m', 2), 'detection.options.minScore'],
    ['a recognition score of -0.1', immichEntries.ocr('m', 0.5, -0.1), 'recognition.options.minScore'],
    ['a string score', immichEntries.ocr('m', '0.5' as unknown as number), 'detection.options.minScore'],
    [
      'a face score of 1.5',
      {
        'facial-recognition': {
          detection: { modelName: 'b', options: { minScore: 1.5 } },
          recognition: { modelName: 'b' },
        },
      },
      'minScore',
    ],
  ])('refuses %s with 422, naming the field and its range', (_label, entries, field) => {
    const raw =
      entries === null
        ? '{"ocr":{"detection":{"modelName":"m","options":{"maxResolution":1e400}},"recognition":{"modelName":"m"}}}'
        : JSON.stringify(entries);
    const error = refusal(raw);
    expect(error.status).toBe(422);
    expect(error.message).toContain(field);
    expect(error.message).toMatch(/between|must be a number/);
  });

  it('caps the tasks, model types and name lengths of one request', () => {
    const many = Object.fromEntries(
      Array.from({ length: WIRE_LIMITS.tasks + 1 }, (_, i) => [`task${i}`, { m: { modelName: 'x' } }]),
    );
    expect(refusal(JSON.stringify(many))).toMatchObject({ status: 422, message: expect.stringMatching(/at most 8/) });
    const long = { clip: { visual: { modelName: 'x'.repeat(WIRE_LIMITS.modelNameChars + 1) } } };
    expect(refusal(JSON.stringify(long)).status).toBe(422);
  });

  it('refuses entries over their byte limit with 413', () => {
    const big = JSON.stringify({
      clip: { visual: { modelName: 'm', options: { pad: 'x'.repeat(WIRE_LIMITS.entriesBytes) } } },
    });
    expect(refusal(big).status).toBe(413);
  });

  it('keeps control characters of a task name out of its messages', () => {
    const error = refusal(JSON.stringify({ 'evil\nline': 'x' }));
    expect(error.message).toBe('entries.evil?line must be an object of model types');
  });
});

describe('planPredict (what the inference service runs)', () => {
  const plan = (entries: object) => planPredict(parseEntries(JSON.stringify(entries)));

  it("maps Immich's OCR options onto the engine's", () => {
    expect(plan(immichEntries.ocr('PP-OCRv5_server', 0.3, 0.9, 1024))).toEqual({
      ocr: { modelName: 'PP-OCRv5_server', options: { boxThresh: 0.3, textScoreMin: 0.9, limitSideLen: 1024 } },
    });
  });

  it('refuses faces (Immich ML does them) and unknown tasks with a 422 naming them', () => {
    expect(() => plan(FACE_ENTRIES)).toThrow(UnsupportedRequestError);
    expect(() => plan(FACE_ENTRIES)).toThrow(/facial-recognition.*Immich/);
    expect(() => plan({ 'image-captioning': { x: { modelName: 'y' } } })).toThrow(/unknown task "image-captioning"/);
  });
});
