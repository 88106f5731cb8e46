import type { QueryTerm } from './query-parser';
import { isCjkChar, normalizeText } from './text-terms';

const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

/**
 * Where a line matches the query's terms, as [start, end) offsets into the line as stored. Spaces and
 * punctuation are skipped on both sides, so "税发" highlights "税 发" in "增值税 发票" as search found it.
 */
export function highlightRanges(line: string, terms: readonly QueryTerm[]): Array<[number, number]> {
  let compact = '';
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < line.length;) {
    const original = String.fromCodePoint(line.codePointAt(i)!);
    // Folded one character at a time so every compact code unit knows where it came from.
    for (const char of normalizeText(original).toLowerCase()) {
      if (!WORD_CHAR.test(char) && !isCjkChar(char)) continue;
      for (let unit = 0; unit < char.length; unit++) {
        compact += char[unit];
        starts.push(i);
        ends.push(i + original.length);
      }
    }
    i += original.length;
  }
  const ranges: Array<[number, number]> = [];
  for (const term of terms) {
    const needle = term.terms.join('');
    if (!needle) continue;
    for (let at = compact.indexOf(needle); at !== -1; at = compact.indexOf(needle, at + needle.length)) {
      ranges.push([starts[at], ends[at + needle.length - 1]]);
    }
  }
  return mergeRanges(ranges);
}

function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([...range]);
  }
  return merged;
}
