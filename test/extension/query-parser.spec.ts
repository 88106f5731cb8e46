import { parseQuery } from '../../src/extension/search/query-parser';
import { highlightRanges } from '../../src/extension/search/highlight';
import { latinTerms, streamTerms, termPhrase, TsvectorBuilder } from '../../src/extension/search/text-terms';

const clauses = (input: string) =>
  parseQuery(input).clauses.map(
    (clause) =>
      `${clause.negated ? '-' : ''}${clause.anyOf.map((term) => (term.phrase ? `"${term.text}"` : term.text)).join('|')}`,
  );

describe('query parser', () => {
  it.each(['ocr:发票', 'OCR:发票', 'Ocr: 发票', ' ocr :发票', 'ocr：发票', 'ｏｃｒ：发票'])(
    'reads %j as an OCR-only query',
    (input) => {
      const query = parseQuery(input);
      expect(query.mode).toBe('ocr');
      expect(query.text).toBe('发票');
    },
  );

  it('reads other queries as mixed, keeping the text for CLIP', () => {
    expect(parseQuery('红色的车 ocr:')).toEqual(expect.objectContaining({ mode: 'mixed', text: '红色的车 ocr:' }));
  });

  it('splits terms, phrases, exclusions and OR like a web search box', () => {
    expect(clauses('ocr: 发票 "order 2024" -draft 火锅 OR 烧烤')).toEqual([
      '发票',
      '"order 2024"',
      '-draft',
      '火锅|烧烤',
    ]);
    expect(clauses('a OR b OR c')).toEqual(['a|b|c']);
    expect(clauses('-"two words" x')).toEqual(['-"two words"', 'x']);
  });

  it('reads stray operators plainly and drops what has nothing to search', () => {
    expect(clauses('OR a OR')).toEqual(['a']);
    expect(clauses('- a')).toEqual(['a']);
    expect(clauses('"unclosed phrase')).toEqual(['"unclosed phrase"']);
    expect(clauses("&|!:*() '\\ 🐱")).toEqual([]);
    expect(clauses('or a')).toEqual(['or', 'a']);
  });

  it('caps the number of terms', () => {
    expect(clauses(Array.from({ length: 40 }, (_, i) => `w${i}`).join(' '))).toHaveLength(16);
  });
});

describe('search terms', () => {
  it('splits CJK into characters, and letters from digits, lower-cased and NFKC-normalised', () => {
    expect(streamTerms('京A·12345 增值税 ＡＢＣ１２３')).toEqual(['京', 'a', '12345', '增', '值', '税', 'abc', '123']);
    expect(latinTerms('京A12345 订单20240506123 ab')).toEqual(['a12345', '20240506123']);
  });

  it('writes tsvector and tsquery input that survives quotes and backslashes', () => {
    const vector = new TsvectorBuilder();
    vector.add("it's", 1, 'A');
    vector.add('a\\b', 2);
    vector.add("it's", 3);
    expect(vector.toString()).toBe("'it''s':1A,3 'a\\\\b':2");
    expect(termPhrase(['增', '值', 'inv'])).toBe("'增':D <-> '值':D <-> 'inv':*D");
    // One letter is matched whole: as a prefix it would match nearly every word.
    expect(termPhrase(['陕', 'b', '6820', 's'])).toBe("'陕':D <-> 'b':D <-> '6820':D <-> 's':D");
    expect(termPhrase(['room', '5'])).toBe("'room':D <-> '5':D");
  });
});

describe('highlights', () => {
  const terms = (q: string) => parseQuery(q).clauses.flatMap((clause) => clause.anyOf);

  it('marks matches in the stored text, across spaces and in any case', () => {
    expect(highlightRanges('增值税 发票', terms('税发'))).toEqual([[2, 5]]);
    expect(highlightRanges('Hello World 2024', terms('world'))).toEqual([[6, 11]]);
    expect(highlightRanges('ＡＢＣ１２３', terms('abc'))).toEqual([[0, 3]]);
    expect(highlightRanges('发票 发票', terms('发票'))).toEqual([
      [0, 2],
      [3, 5],
    ]);
    expect(highlightRanges('nothing here', terms('发票'))).toEqual([]);
  });
});
