import type { OcrConfig } from '../ocr-config';

export interface DecodedText {
  text: string;
  score: number;
}

/**
 * Greedy CTC decoding of one sequence: argmax per time step, merge repeats, drop the blank (0).
 * The score is the mean of the kept steps' maxima (RapidOCR's CTCLabelDecode).
 *
 * PP-OCR often drops the space between words. The model's own probability of a space between two
 * characters, high enough to mean something but too low to win the argmax, puts it back; how high
 * depends on the pair (see `withRecoveredSpaces`).
 */
export function ctcDecode(
  probs: Float32Array,
  offset: number,
  steps: number,
  classes: number,
  charset: string[],
  spaces: OcrConfig['spaces'],
): DecodedText {
  const chars: string[] = [];
  const centers: number[] = [];
  let scoreSum = 0;
  let prev = 0;
  let runStart = 0;
  for (let t = 0; t < steps; t++) {
    const row = offset + t * classes;
    let best = 0;
    let bestP = probs[row];
    for (let c = 1; c < classes; c++) {
      const p = probs[row + c];
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== prev) {
      if (prev !== 0) centers[centers.length - 1] = (runStart + t - 1) / 2;
      if (best !== 0) {
        chars.push(charset[best] ?? '');
        centers.push(t);
        scoreSum += bestP;
      }
      runStart = t;
    }
    prev = best;
  }
  if (prev !== 0) centers[centers.length - 1] = (runStart + steps - 1) / 2;
  if (chars.length === 0) return { text: '', score: 0 };
  if (!spaces.recover) return { text: chars.join('').trim(), score: scoreSum / chars.length };
  const spaceClass = charset.lastIndexOf(' ');
  // Highest space probability from one character's centre to the next's.
  const spaceBefore = chars.map((_, i) => {
    let max = 0;
    if (i === 0 || spaceClass < 0) return max;
    for (let t = Math.ceil(centers[i - 1]); t <= Math.floor(centers[i]); t++) {
      max = Math.max(max, probs[offset + t * classes + spaceClass]);
    }
    return max;
  });
  const text = withRecoveredSpaces(chars, spaceBefore, spaces);
  return { text: text.trim(), score: scoreSum / chars.length };
}

type Script = 'cjk' | 'latin' | 'joiner' | 'other';

const script = (ch: string, joiners: string): Script => {
  if ((ch.codePointAt(0) ?? 0) >= 0x2e80) return 'cjk'; // CJK, kana, hangul, full-width forms
  if (/^[\p{L}\p{N}]$/u.test(ch)) return 'latin'; // letters and digits of alphabetic scripts
  return joiners.includes(ch) ? 'joiner' : 'other';
};

/**
 * The space probability a pair needs before a space goes back between its characters. Measured on
 * the fixtures and the tuning photos (test/fixtures/ocr-tuning), each re-encoded at JPEG quality
 * 70-95 and resized: between two Latin letters or digits no pair without a space scored over 0.0051
 * and none with one under 0.29, so the bar is high there (a space never splits a word, "t o", "1 1");
 * between two Chinese characters 0.0013 against 0.034; where Chinese meets Latin or digits 0.0007
 * against 0.0019. Next to a joiner (`_ - . / @ \`) no space goes back at all: an underscore's empty
 * middle looks like a space to the model ("report _ final"). The gap between characters in time
 * steps is not used: at ~6 steps per em it moves by a sixth of an em when a JPEG is re-encoded.
 */
function spaceThreshold(a: Script, b: Script, spaces: OcrConfig['spaces']): number {
  if (a === 'joiner' || b === 'joiner') return Infinity;
  if (a === 'cjk' && b === 'cjk') return spaces.minSpaceProb;
  if (a === 'cjk' || b === 'cjk') return spaces.scriptChangeSpaceProb;
  return spaces.latinSpaceProb;
}

function withRecoveredSpaces(chars: string[], spaceBefore: number[], spaces: OcrConfig['spaces']): string {
  let out = chars[0];
  for (let i = 1; i < chars.length; i++) {
    const a = chars[i - 1];
    const b = chars[i];
    if (a !== ' ' && b !== ' ') {
      const threshold = spaceThreshold(script(a, spaces.joiners), script(b, spaces.joiners), spaces);
      if (spaceBefore[i] >= threshold) out += ' ';
    }
    out += b;
  }
  return out.replace(/ {2,}/g, ' ');
}
