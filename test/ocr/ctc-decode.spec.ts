import { ctcDecode } from '../../src/inference/ocr/recognition/ctc-decode';
import { DEFAULT_OCR_CONFIG } from '../../src/inference/ocr/ocr-config';

const charset = ['blank', 'a', 'b', 'c', '中', '文', 'X', 'Y', '1', ' '];
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

  it('puts back a space between Latin words from a wide gap in the time steps', () => {
    // Letters every 3 steps, then a 6-step gap between "abc" and "cab".
    const seq = ['a', 0, 0, 'b', 0, 0, 'c', 0, 0, 0, 0, 0, 'c', 0, 0, 'a', 0, 0, 'b'];
    expect(decode(seq).text).toBe('abc cab');
    expect(decode(seq, { ...spaces, recover: false }).text).toBe('abccab');
  });

  it('puts back a space where Chinese meets Latin, not inside evenly spaced Chinese', () => {
    // Chinese every 5 steps; Latin every 3; a 3-step extra gap between the scripts.
    const seq = ['中', 0, 0, 0, 0, '文', 0, 0, 0, 0, 0, 0, 'X', 0, 0, 'Y', 0, 0];
    expect(decode(seq).text).toBe('中文 XY');
    expect(decode(['中', 0, 0, 0, 0, '文', 0, 0, 0, 0, '中', 0, 0, 0, 0, '文']).text).toBe('中文中文');
  });

  it('does not double a space the model already predicted', () => {
    expect(decode(['a', 0, 0, 'b', 0, ' ', 0, 0, 0, 'c', 0, 0, 'a']).text).toBe('ab ca');
  });

  it('puts back a space the model gave some probability to but did not choose, also between Chinese', () => {
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
