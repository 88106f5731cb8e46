/**
 * How text becomes search terms, shared by indexing and querying so both sides always agree.
 *
 * A line is read as a stream of terms: every CJK character is a term of its own, and every run of
 * letters or of digits is one lower-cased term ("京A·12345" -> 京, a, 12345). Consecutive terms get
 * consecutive positions, so a phrase of terms finds any substring of CJK text, also across word
 * boundaries and across the spaces OCR puts between Chinese words ("增值税 发票" matches 值税发), and
 * a plate or code however OCR punctuated it ("沪B6789C" finds "沪B·6789C").
 */

/** Scripts indexed one character at a time: no spaces between their words. */
const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
/** One CJK character, or a run of other letters, or a run of digits. */
const TERM =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]|(?:(?![\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}])[\p{L}\p{M}])+|\p{N}+/gu;
/** A run of letters and digits together ("a12345", "20240506123"): the unit of substring search. */
const ALNUM_RUN = /(?:(?![\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}])[\p{L}\p{N}\p{M}])+/gu;
/** Longer runs are cut: no real word is this long, and Postgres refuses lexemes over 2 KB. */
export const MAX_TERM_LENGTH = 64;
/** tsvector positions stop at 16383; later terms share the last position (still found, less precisely). */
export const MAX_POSITION = 16_383;

/**
 * Full-width letters and digits, the full-width colon and compatibility forms become their plain
 * equivalents (NFKC); control characters (NUL included, which Postgres text refuses) become spaces.
 */
export function normalizeText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.normalize('NFKC').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

export const isCjkChar = (char: string): boolean => CJK_CHAR.test(char);

/** The terms of one piece of text, in order, normalised and lower-cased. */
export function streamTerms(text: string): string[] {
  return [...normalizeText(text).matchAll(TERM)].map((match) => match[0].toLowerCase().slice(0, MAX_TERM_LENGTH));
}

/** Letter+digit runs of three or more characters, for substring search (pg_trgm) over plates and numbers. */
export function latinTerms(text: string): string[] {
  return [...normalizeText(text).matchAll(ALNUM_RUN)]
    .map((match) => match[0].toLowerCase().slice(0, MAX_TERM_LENGTH))
    .filter((run) => run.length >= 3);
}

/** A lexeme quoted for tsvector/tsquery input: quotes doubled, backslashes escaped. */
export function quoteLexeme(lexeme: string): string {
  return `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Weight letters as tsvector input writes them; D is the default and left unwritten. */
export type Weight = 'A' | 'B' | 'C' | 'D';

/**
 * Builds tsvector input text from positioned lexemes. Duplicates merge into one lexeme with several
 * positions, as Postgres does; positions are clamped to the range a tsvector can hold.
 */
export class TsvectorBuilder {
  private readonly positions = new Map<string, string[]>();
  private last = 0;

  /** The last position written. */
  get position(): number {
    return this.last;
  }

  add(lexeme: string, position: number, weight: Weight = 'D'): void {
    if (!lexeme) return;
    const pos = Math.min(Math.max(position, 1), MAX_POSITION);
    this.last = Math.max(this.last, pos);
    const list = this.positions.get(lexeme) ?? [];
    // A lexeme keeps at most 256 positions in a tsvector; more say nothing new for ranking.
    if (list.length < 256) list.push(weight === 'D' ? `${pos}` : `${pos}${weight}`);
    this.positions.set(lexeme, list);
  }

  toString(): string {
    return [...this.positions].map(([lexeme, list]) => `${quoteLexeme(lexeme)}:${list.join(',')}`).join(' ');
  }
}

/**
 * The character-level terms of a document's lines (weight D). Positions run on within a line and skip
 * one between lines, so a phrase never joins the end of one line to the start of the next.
 */
export function addStreamTerms(builder: TsvectorBuilder, lines: readonly string[], start = builder.position): void {
  let position = start;
  for (const line of lines) {
    for (const term of streamTerms(line)) builder.add(term, ++position);
    position++;
  }
}

/**
 * The shortest last term that also matches as a prefix. A one-letter prefix says almost nothing and
 * costs the most: Postgres gathers every lexeme starting with it from the index first ("陕B6820S":
 * 103 ms of GIN work at 1M documents for `'s':*`, bench/search.ts --explain).
 */
const MIN_PREFIX = 2;

/**
 * tsquery input text for a run of terms in order: `'增':D <-> '值':D <-> '税':D`. The last term also
 * matches as a prefix when it is letters/digits (two or more), so "inv" finds "invoice". Restricted to
 * weight D (the stream terms), so a prefix never lends a longer word the whole-word rank. Empty
 * without terms.
 */
export function termPhrase(terms: readonly string[], { prefixLast = true } = {}): string {
  return terms
    .map((term, index) =>
      prefixLast && index === terms.length - 1 && !isCjkChar(term) && [...term].length >= MIN_PREFIX
        ? `${quoteLexeme(term)}:*D`
        : `${quoteLexeme(term)}:D`,
    )
    .join(' <-> ');
}

/** tsquery input for words in order (whole words only). */
export function wordPhrase(words: readonly string[]): string {
  return words.map(quoteLexeme).join(' <-> ');
}
