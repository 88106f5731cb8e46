import type { OcrConfig } from '../ocr-config';

export interface DecodedText {
  text: string;
  score: number;
}

/**
 * Greedy CTC decoding of one sequence: argmax per time step, merge repeats, drop the blank (0).
 * The score is the mean of the kept steps' maxima (RapidOCR's CTCLabelDecode).
 *
 * PP-OCR often drops the space between words. Two signals put it back: the model's own
 * probability of a space between two characters (high enough to mean something, too low to win
 * the argmax), and, for Latin and digits, a step between two characters wider than the line's
 * letter spacing.
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
  const text = withRecoveredSpaces(chars, centers, spaceBefore, spaces);
  return { text: text.trim(), score: scoreSum / chars.length };
}

/** Advance of a character in ems: a rough font-independent width class, enough to see gaps. */
const isCjk = (ch: string) => (ch.codePointAt(0) ?? 0) >= 0x2e80;

export function advanceEm(ch: string): number {
  if (isCjk(ch)) return 1; // CJK, kana, hangul, full-width forms
  if (/[il.,:;'!|`]/.test(ch)) return 0.3;
  if (/[fjrtI1()[\]\-"]/.test(ch)) return 0.4;
  if (/[mwMW@%]/.test(ch)) return 0.85;
  if (/[A-Z]/.test(ch)) return 0.68;
  return 0.55;
}

function withRecoveredSpaces(
  chars: string[],
  centers: number[],
  spaceBefore: number[],
  spaces: OcrConfig['spaces'],
): string {
  if (chars.length < 2) return chars.join('');
  // The line's em in time steps: the median of observed pitch over expected pitch. Most pairs
  // are not separated by a space, so the median is the plain letter spacing.
  const ratios: number[] = [];
  for (let i = 1; i < chars.length; i++) {
    if (chars[i] === ' ' || chars[i - 1] === ' ') continue;
    ratios.push((centers[i] - centers[i - 1]) / ((advanceEm(chars[i - 1]) + advanceEm(chars[i])) / 2));
  }
  if (ratios.length === 0) return chars.join('');
  ratios.sort((a, b) => a - b);
  const em = ratios[ratios.length >> 1];
  let out = chars[0];
  for (let i = 1; i < chars.length; i++) {
    const a = chars[i - 1];
    const b = chars[i];
    if (a !== ' ' && b !== ' ') {
      const cjkA = isCjk(a);
      const cjkB = isCjk(b);
      const expected = ((advanceEm(a) + advanceEm(b)) / 2) * em;
      const threshold = cjkA !== cjkB ? spaces.scriptChangeGapEm : spaces.minGapEm;
      // Between two Chinese characters letter spacing is already 0 or 0.2 em after quantisation to
      // time steps, as wide as a space: only the model's own space probability is trusted there.
      const byGap = !(cjkA && cjkB) && centers[i] - centers[i - 1] - expected > threshold * em;
      if (byGap || spaceBefore[i] >= spaces.minSpaceProb) out += ' ';
    }
    out += b;
  }
  return out.replace(/ {2,}/g, ' ');
}
