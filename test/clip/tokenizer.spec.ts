import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClipTokenizer, basicTokenize, parseVocab, segments } from '../../src/inference/clip/tokenizer';

// Hand-written vocabulary: the line index is the id, so every expectation below can be checked by eye.
const VOCAB = [
  '[PAD]', // 0
  '[UNK]', // 1
  '[CLS]', // 2
  '[SEP]', // 3
  '红', // 4
  '色', // 5
  '的', // 6
  '汽', // 7
  '车', // 8
  'un', // 9
  '##aff', // 10
  '##able', // 11
  'photo', // 12
  '##s', // 13
  '!', // 14
  ',', // 15
  '，', // 16  full-width comma
  '。', // 17
  '12', // 18
  '##3', // 19
  'ａ', // 20  full-width a
  '##ｂ', // 21
  '##ｃ', // 22
  'cafe', // 23
  'naive', // 24
  'hello', // 25
  '.', // 26
  '中', // 27
  '?', // 28
  "'", // 29
  't', // 30
  'don', // 31
  'a', // 32
  '##a', // 33
];

const tokenizer = ClipTokenizer.fromVocabText(VOCAB.join('\n') + '\n');

/** The ids between [CLS] and [SEP], as plain numbers. */
function body(text: string, t = tokenizer): number[] {
  const ids = Array.from(t.tokenize(text), Number);
  expect(ids[0]).toBe(2);
  const sep = ids.indexOf(3);
  expect(ids.slice(sep + 1).every((id) => id === 0)).toBe(true);
  return ids.slice(1, sep);
}

describe('ClipTokenizer (hand-written vocabulary)', () => {
  it('frames ids with [CLS] and [SEP] and zero-pads to 52 as int64', () => {
    const ids = tokenizer.tokenize('红色');
    expect(ids).toBeInstanceOf(BigInt64Array);
    expect(ids.length).toBe(52);
    expect(Array.from(ids.slice(0, 5), Number)).toEqual([2, 4, 5, 3, 0]);
  });

  it('makes every Chinese character its own token', () => {
    expect(body('红色的汽车')).toEqual([4, 5, 6, 7, 8]);
    expect(tokenizer.pieces('红色的汽车')).toEqual(['红', '色', '的', '汽', '车']);
  });

  it('splits English words into ## word pieces, longest match first, after lowercasing', () => {
    expect(tokenizer.pieces('Unaffable PHOTOS')).toEqual(['un', '##aff', '##able', 'photo', '##s']);
    expect(body('Unaffable PHOTOS')).toEqual([9, 10, 11, 12, 13]);
  });

  it('turns a word with any unmatched remainder into a single [UNK]', () => {
    expect(body('123')).toEqual([18, 19]);
    expect(body('1234')).toEqual([1]); // "12" "##3" then no "##4": the whole word is unknown
    expect(body('photograph')).toEqual([1]);
  });

  it('splits on ASCII and Unicode punctuation', () => {
    expect(tokenizer.pieces('hello,photo!')).toEqual(['hello', ',', 'photo', '!']);
    expect(body("don't")).toEqual([31, 29, 30]);
    expect(body('红色，汽车。')).toEqual([4, 5, 16, 7, 8, 17]);
  });

  it('keeps full-width letters full-width (lowercased only), as BERT does', () => {
    expect(tokenizer.pieces('ＡＢＣ')).toEqual(['ａ', '##ｂ', '##ｃ']);
    expect(body('ＡＢＣ')).toEqual([20, 21, 22]);
    expect(body('ABC')).toEqual([1]); // ASCII abc is a different word, not in this vocabulary
  });

  it('gives [UNK] for emoji and other characters outside the vocabulary', () => {
    expect(body('😀')).toEqual([1]);
    expect(body('红色😀')).toEqual([4, 5, 1]);
  });

  it('strips accents after NFD', () => {
    expect(tokenizer.pieces('Café NAÏVE')).toEqual(['cafe', 'naive']);
    expect(body('Cafe\u0301')).toEqual([23]); // already decomposed
  });

  it('drops control characters and U+FFFD, and treats any space as a separator', () => {
    expect(body('红\u0000色\ufffd\u200b的')).toEqual([4, 5, 6]);
    expect(body('\u3000hello\t\nphoto\u00a0')).toEqual([25, 12]);
    expect(body('hello\u2028photo')).toEqual([25, 12]); // Python's str.split() splits on U+2028 too
    expect(body('')).toEqual([]);
    expect(body(' \t ')).toEqual([]);
  });

  it('isolates ideographs from every CJK block, not just the basic one', () => {
    // U+20000 (extension B) is split out of the word, then unknown; without the split the whole
    // word would be a single [UNK].
    expect(body('a\u{20000}a')).toEqual([32, 1, 32]);
    expect(body('aひa')).toEqual([1]); // kana are not CJK ideographs: one word
  });

  it('truncates to 50 tokens, then [SEP]', () => {
    const ids = Array.from(tokenizer.tokenize('红'.repeat(60)), Number);
    expect(ids).toHaveLength(52);
    expect(ids[0]).toBe(2);
    expect(ids.slice(1, 51)).toEqual(Array(50).fill(4));
    expect(ids[51]).toBe(3);
  });

  it('turns a word over 200 characters into [UNK] but splits one of 200', () => {
    expect(tokenizer.pieces('a'.repeat(200))).toHaveLength(200);
    expect(body('a'.repeat(200))).toEqual([32, ...Array(49).fill(33)]);
    expect(body('a'.repeat(201))).toEqual([1]);
  });

  it('honours a custom context length', () => {
    const short = ClipTokenizer.fromVocabText(VOCAB.join('\n'), { contextLength: 5 });
    expect(Array.from(short.tokenize('红色的汽车'), Number)).toEqual([2, 4, 5, 6, 3]);
    expect(Array.from(short.tokenize('红'), Number)).toEqual([2, 4, 3, 0, 0]);
    expect(() => ClipTokenizer.fromVocabText(VOCAB.join('\n'), { contextLength: 1 })).toThrow(/context length/);
  });
});

describe('early truncation: only what can become the 50 tokens is read', () => {
  const vocabText = readFileSync(join(__dirname, 'fixtures', 'cn-clip-vocab.txt'), 'utf8');
  const real = ClipTokenizer.fromVocabText(vocabText);
  const vocab = parseVocab(vocabText);
  /** The reference: every piece of the whole text, then the first 50 (what the Python code does). */
  const reference = (text: string) =>
    real
      .pieces(text)
      .slice(0, 50)
      .map((piece) => vocab.get(piece) ?? 100);

  it('gives exactly the ids of the whole text, on texts mixing every kind of boundary', () => {
    // A fixed pseudo-random mix of what changes tokenization: ideographs, spaces of several kinds,
    // U+2028, punctuation, accents, controls, full-width forms and a final sigma.
    const alphabet = [
      '红',
      '色',
      'a',
      'b',
      'photo',
      ' ',
      '\u3000',
      '\u2028',
      '\t',
      ',',
      '!',
      'é',
      'Σ',
      'Ａ',
      '\u0000',
      '中',
      '12',
    ];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 200; n++) {
      const length = 1 + Math.floor(next() * 120);
      const text = Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
      expect(real.ids(text, 50)).toEqual(reference(text));
    }
  });

  it('reads a 1 MB text only as far as its first tokens', () => {
    const words = 'red photo '.repeat(100_000);
    let read = 0;
    for (const piece of segments(words, 50 * 201)) {
      read += piece.length;
      if (read > 1000) break;
    }
    // Lazily: the generator handed out a few hundred characters, not the megabyte.
    expect(read).toBeLessThan(2000);
    expect(real.ids(words, 50)).toEqual(real.ids('red photo '.repeat(25), 50));

    // Without any boundary, at most 50 words' worth (50 x 201 characters) is read.
    const blob = 'x'.repeat(1 << 20);
    const total = [...segments(blob, 50 * 201)].reduce((sum, piece) => sum + piece.length, 0);
    expect(total).toBe(50 * 201);
    expect(real.ids(blob, 50)).toEqual([100]); // one [UNK], as for the whole megabyte
  });
});

describe('vocabulary loading', () => {
  it('uses the line index as id, strips whitespace and CRLF, and lets a repeated token keep its last id', () => {
    const vocab = parseVocab('[PAD]\r\n  x  \n[UNK]\nx\n');
    expect([...vocab]).toEqual([
      ['[PAD]', 0],
      ['x', 3],
      ['[UNK]', 2],
    ]);
  });

  it('refuses a file without the special tokens', () => {
    expect(() => ClipTokenizer.fromVocabText('[PAD]\n[UNK]\n[SEP]\n')).toThrow(/\[CLS\]/);
  });
});

describe('basicTokenize', () => {
  it('matches BERT BasicTokenizer on mixed text', () => {
    expect(basicTokenize('Hello,世界! ＡＢＣ  café')).toEqual(['hello', ',', '世', '界', '!', 'ａｂｃ', 'cafe']);
  });
});

// Ids produced by the reference Python tokenizer (see the fixture's "source") with the real
// 21128-line vocab.txt: the embeddings match the PyTorch model only if these match exactly.
describe('ClipTokenizer against Chinese-CLIP FullTokenizer (real vocab.txt)', () => {
  const fixtures = join(__dirname, 'fixtures');
  const golden: { cases: { text: string; pieces: string[]; ids: number[] }[] } = JSON.parse(
    readFileSync(join(fixtures, 'tokenizer-golden.json'), 'utf8'),
  );
  const vocab = readFileSync(join(fixtures, 'cn-clip-vocab.txt'), 'utf8');
  const real = ClipTokenizer.fromVocabText(vocab);

  it('has the real layout: 21128 tokens, [CLS]=101, [SEP]=102', () => {
    expect(vocab.split('\n').filter(Boolean)).toHaveLength(21128);
    expect(Array.from(real.tokenize(''), Number).slice(0, 3)).toEqual([101, 102, 0]);
  });

  it.each(golden.cases.map((c) => [JSON.stringify(c.text).slice(0, 60), c] as const))('%s', (_, c) => {
    expect(real.pieces(c.text)).toEqual(c.pieces);
    expect(Array.from(real.tokenize(c.text), Number)).toEqual(c.ids);
  });
});
