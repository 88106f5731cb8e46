import { ctcDecode } from '../../src/inference/ocr/recognition/ctc-decode';
import { DEFAULT_OCR_CONFIG } from '../../src/inference/ocr/ocr-config';

const charset = ['blank', 'a', 'b', 'c', '中', '文', 'X', 'Y', '1', '_', '.', ' '];
const spaces = DEFAULT_OCR_CONFIG.spaces;

/** Near one-hot probabilities (0.9 on the class) for a sequence of class indices per time step. */
function steps(sequence: (number | string)[]): Float32Array {
  const probs = new Float32Array(sequence.length * charset.length).fill(0.0001);
  sequence.forEach((s, t) => {
    const c = typeof s === 'number' ? s : charset.indexOf(s);
    probs[t * charset.length + c] = 0.9;
  });
  return probs;
}

const decode = (sequence: (number | string)[], options = spaces) =>
  ctcDecode(steps(sequence), 0, sequence.length, charset.length, charset, options);

describe('CTC greedy decoding', () => {
  it('merges repeats, drops blanks, keeps a repeated letter split by a blank', () => {
    expect(decode(['a', 'a', 0, 'b', 0, 'b', 'c', 0]).text).toBe('abbc');
    expect(decode(['a', 'a', 0, 'b', 0, 'b', 'c', 0]).score).toBeCloseTo(0.9, 5);
  });

  it('returns empty text with score 0 when only blanks are predicted', () => {
    expect(decode([0, 0, 0])).toEqual({ text: '', score: 0 });
  });

  /** `sequence` with the space class at probability `p` on the step between positions `at` and `at + 1`. */
  const withSpace = (sequence: (number | string)[], between: Array<[number, number]>) => {
    const probs = steps(sequence);
    const space = charset.indexOf(' ');
    for (const [t, p] of between) probs[t * charset.length + space] = p;
    return ctcDecode(probs, 0, sequence.length, charset.length, charset, spaces).text;
  };

  it('puts a space back between Latin words only on a clear space probability, never from a gap', () => {
    // A wide gap between "ab" and "c" alone is no space: gaps move by a sixth of an em on re-encoding.
    expect(decode(['a', 0, 0, 'b', 0, 0, 0, 0, 0, 0, 0, 'c']).text).toBe('abc');
    // The model's own hint: 0.3 (a real space) puts it back, 0.005 (JPEG noise inside a word) does not.
    expect(withSpace(['a', 0, 0, 'b', 0, 0, 'c'], [[4, 0.3]])).toBe('ab c');
    expect(withSpace(['a', 0, 0, 'b', 0, 0, 'c'], [[4, 0.005]])).toBe('abc');
    expect(withSpace(['1', 0, 0, '1', 0, 0, '1'], [[1, 0.005]])).toBe('111');
  });

  it('uses lower bars between Chinese characters and where Chinese meets Latin or digits', () => {
    expect(withSpace(['中', 0, 0, '文', 0, 0, '中'], [[4, 0.03]])).toBe('中文 中');
    expect(withSpace(['中', 0, 0, '文', 0, 0, '中'], [[4, 0.001]])).toBe('中文中');
    expect(withSpace(['中', 0, 0, 'X', 0, 0, '1'], [[1, 0.002]])).toBe('中 X1');
    expect(withSpace(['中', 0, 0, 'X', 0, 0, '1'], [[1, 0.0005]])).toBe('中X1');
  });

  it('never puts a space next to a joiner, however likely the model finds one', () => {
    expect(
      withSpace(
        ['a', 0, '_', 0, 'b', 0, '.', 0, 'c'],
        [
          [1, 0.08],
          [3, 0.08],
          [5, 0.08],
          [7, 0.08],
        ],
      ),
    ).toBe('a_b.c');
  });

  it('does not double a space the model already predicted', () => {
    expect(decode(['a', 0, 0, 'b', 0, ' ', 0, 0, 0, 'c', 0, 0, 'a']).text).toBe('ab ca');
  });

  it('puts back a space the model gave some probability to but did not choose, between Chinese', () => {
    const seq = ['中', 0, 0, 0, 0, '文', 0, 0, 0, 0, '中', 0, 0, 0, 0, '文'];
    const probs = steps(seq);
    const space = charset.indexOf(' ');
    probs[7 * charset.length + space] = 0.03; // between the first 文 and the second 中
    probs[2 * charset.length + space] = 0.001; // noise-level between 中 and 文
    expect(ctcDecode(probs, 0, seq.length, charset.length, charset, spaces).text).toBe('中文 中文');
    expect(ctcDecode(probs, 0, seq.length, charset.length, charset, { ...spaces, recover: false }).text).toBe(
      '中文中文',
    );
  });
});
