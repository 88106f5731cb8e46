import { readFile } from 'node:fs/promises';
import { CLIP_CONTEXT_LENGTH } from './clip-models';

/**
 * BERT WordPiece tokenizer, a line-for-line port of Chinese-CLIP's `FullTokenizer`
 * (cn_clip/clip/bert_tokenizer.py) with `do_lower_case=True`, plus `cn_clip.clip.tokenize`'s
 * [CLS] ... [SEP] framing. Embeddings only match the PyTorch model's if the ids match exactly, so
 * every rule below copies the Python one, quirks included: full-width letters are NOT folded to
 * ASCII (only lowercased), and Unicode categories decide what is punctuation, control or an accent.
 */

export interface ClipTokenizerOptions {
  /** Length of the id tensor, [CLS] and [SEP] included (Chinese-CLIP: 52). */
  contextLength?: number;
}

const CLS = '[CLS]';
const SEP = '[SEP]';
const UNK = '[UNK]';
/** WordpieceTokenizer.max_input_chars_per_word: longer words become a single [UNK]. */
const MAX_CHARS_PER_WORD = 200;

export class ClipTokenizer {
  readonly contextLength: number;
  private readonly clsId: number;
  private readonly sepId: number;
  private readonly unkId: number;

  /** @param vocab token -> id, as `load_vocab` builds it (line index = id). */
  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    options: ClipTokenizerOptions = {},
  ) {
    this.contextLength = options.contextLength ?? CLIP_CONTEXT_LENGTH;
    if (!Number.isInteger(this.contextLength) || this.contextLength < 2) {
      throw new Error(`context length must be an integer >= 2, got ${this.contextLength}`);
    }
    const required = (token: string) => {
      const id = vocab.get(token);
      if (id === undefined) throw new Error(`vocabulary has no ${token} token: not a BERT vocab.txt`);
      return id;
    };
    this.clsId = required(CLS);
    this.sepId = required(SEP);
    this.unkId = required(UNK);
  }

  static fromVocabText(text: string, options?: ClipTokenizerOptions): ClipTokenizer {
    return new ClipTokenizer(parseVocab(text), options);
  }

  static async fromVocabFile(path: string, options?: ClipTokenizerOptions): Promise<ClipTokenizer> {
    return ClipTokenizer.fromVocabText(await readFile(path, 'utf8'), options);
  }

  /** FullTokenizer.tokenize: the word pieces, before any truncation. */
  pieces(text: string): string[] {
    const out: string[] = [];
    for (const word of basicTokenize(text)) out.push(...this.wordpiece(word));
    return out;
  }

  /**
   * Ids of the word pieces, at most `limit` of them: the text is read only as far as they need
   * (see `segments`), so a 1 MB text costs what a short one does.
   */
  ids(text: string, limit = Infinity): number[] {
    const out: number[] = [];
    for (const segment of segments(text, limit === Infinity ? Infinity : limit * SCAN_PER_TOKEN)) {
      for (const word of basicTokenize(segment)) {
        for (const piece of this.wordpiece(word)) {
          if (out.length >= limit) return out;
          out.push(piece === UNK ? this.unkId : this.vocab.get(piece)!);
        }
      }
    }
    return out;
  }

  /**
   * `cn_clip.clip.tokenize(text, context_length)`: [CLS] + up to contextLength-2 ids + [SEP],
   * zero-padded ([PAD] = 0) to contextLength, ready to be an int64 tensor of shape [1, contextLength].
   */
  tokenize(text: string): BigInt64Array {
    const ids = [this.clsId, ...this.ids(text, this.contextLength - 2), this.sepId];
    const out = new BigInt64Array(this.contextLength);
    ids.forEach((id, i) => (out[i] = BigInt(id)));
    return out;
  }

  /** WordpieceTokenizer.tokenize for one whitespace-free word: greedy longest match first. */
  private wordpiece(word: string): string[] {
    const chars = Array.from(word); // code points, as Python's list(str)
    if (chars.length > MAX_CHARS_PER_WORD) return [UNK];
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let match: string | undefined;
      while (start < end) {
        const sub = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
        if (this.vocab.has(sub)) {
          match = sub;
          break;
        }
        end--;
      }
      if (match === undefined) return [UNK];
      pieces.push(match);
      start = end;
    }
    return pieces;
  }
}

/**
 * load_vocab: one token per line, stripped of surrounding whitespace, id = line index; a token that
 * appears twice keeps its last id, as the Python dict assignment does.
 */
export function parseVocab(text: string): Map<string, number> {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // newline after the last token
  const vocab = new Map<string, number>();
  lines.forEach((line, index) => vocab.set(pythonStrip(line), index));
  return vocab;
}

/**
 * Characters no token ever spans, at any stage of BasicTokenizer: its whitespace (space, tab, CR, LF,
 * Zs), the line and paragraph separators that Python's str.split() also splits on, and CJK ideographs
 * (each its own word). Tokenizing the text between them piece by piece gives exactly the tokens of
 * the whole, so the pieces can be taken one at a time until there are enough.
 */
const BOUNDARY =
  /[\t\n\r\p{Zs}\u2028\u2029]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{2a6df}\u{2a700}-\u{2ceaf}\u{2f800}-\u{2fa1f}]/gu;

/** A BOUNDARY match that is whitespace (the others are CJK ideographs). */
const SPACE = /^[\t\n\r\p{Zs}\u2028\u2029]/u;

/**
 * Characters read per token wanted: a word of up to 200 characters (longer is one [UNK]) and its
 * punctuation. Only text made of words longer than that could need more to fill the 50 tokens, and
 * such text is cut here rather than read to its end.
 */
const SCAN_PER_TOKEN = MAX_CHARS_PER_WORD + 1;

/**
 * The text between BOUNDARY characters, CJK ideographs on their own, lazily and at most `budget`
 * characters of it in all: whitespace between them costs a regex scan, not a tokenizer pass.
 */
export function* segments(text: string, budget = Infinity): Generator<string> {
  const boundary = new RegExp(BOUNDARY.source, BOUNDARY.flags);
  let start = 0;
  let left = budget;
  for (let match = boundary.exec(text); left > 0; match = boundary.exec(text)) {
    const end = match ? match.index : text.length;
    if (end > start) {
      const piece = text.slice(start, Math.min(end, start + left));
      left -= piece.length;
      yield piece;
    }
    if (!match) return;
    // A CJK ideograph is a word of its own; whitespace is dropped.
    if (!SPACE.test(match[0])) {
      left -= match[0].length;
      yield match[0];
    }
    start = match.index + match[0].length;
  }
}

/** BasicTokenizer.tokenize with do_lower_case=True: clean, isolate CJK, lowercase, strip accents, split punctuation. */
export function basicTokenize(text: string): string[] {
  const spaced = isolateCjk(cleanText(text));
  const out: string[] = [];
  for (const token of whitespaceSplit(spaced)) {
    const folded = stripAccents(token.toLowerCase());
    for (const piece of splitOnPunctuation(folded)) out.push(...whitespaceSplit(piece));
  }
  return out;
}

/** _clean_text: drop NUL, U+FFFD and control characters; every whitespace character becomes a space. */
function cleanText(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    out += isWhitespace(ch) ? ' ' : ch;
  }
  return out;
}

/** _tokenize_chinese_chars: spaces around each CJK ideograph, so each becomes its own word. */
function isolateCjk(text: string): string {
  let out = '';
  for (const ch of text) out += isCjk(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
  return out;
}

/** _is_chinese_char: the CJK Unified Ideographs blocks and compatibility ideographs, nothing else. */
function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** _run_strip_accents: NFD, then drop nonspacing marks (Mn). */
function stripAccents(text: string): string {
  return text.normalize('NFD').replace(/\p{Mn}/gu, '');
}

/** _run_split_on_punc: every punctuation character is a token of its own. */
function splitOnPunctuation(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const ch of text) {
    if (isPunctuation(ch)) {
      if (current) out.push(current);
      out.push(ch);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current) out.push(current);
  return out;
}

/** _is_whitespace: space, \t, \n, \r, or category Zs. */
function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || /^\p{Zs}$/u.test(ch);
}

/** _is_control: categories Cc and Cf, except \t, \n, \r (which count as whitespace). */
function isControl(ch: string): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return /^[\p{Cc}\p{Cf}]$/u.test(ch);
}

/** _is_punctuation: every non-alphanumeric printable ASCII character, plus Unicode category P*. */
function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    return true;
  }
  return /^\p{P}$/u.test(ch);
}

// Python's str.split()/str.strip() whitespace (str.isspace): bidi classes WS, B, S and category Zs.
// It differs from JavaScript's \s by \x1c-\x1f and \x85 (in) and U+FEFF (out); this set is Python's.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'u');
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'gu');

/** whitespace_tokenize: str.strip() then str.split(). */
function whitespaceSplit(text: string): string[] {
  return text.split(PY_SPACE_RUN).filter((token) => token.length > 0);
}

function pythonStrip(text: string): string {
  return text.replace(PY_STRIP, '');
}
