import {
  addStreamTerms,
  isCjkChar,
  streamTerms,
  termMatchPhrase,
  termPhrase,
  TsvectorBuilder,
} from '../../src/extension/search/text-terms';
import { withAdminClient } from '../support/immich-database';

/**
 * Matching goes through CJK bigrams (termMatchPhrase) for speed; it must find exactly what the
 * characters in order (termPhrase) find, in Postgres itself, or a search would silently lose photos.
 */
describe('bigram matching', () => {
  it('writes the bigram phrase with the right distances', () => {
    expect(termMatchPhrase(['增', '值', '税'])).toBe("'>增值':D <-> '>值税':D");
    expect(termMatchPhrase(['增', '值', '税', '2024'])).toBe("'>增值':D <-> '>值税':D <2> '2024':*D");
    expect(termMatchPhrase(['京', 'a', '12345'])).toBe("'京':D <-> 'a':D <-> '12345':*D");
    expect(termMatchPhrase(['a', '增', 'b'])).toBe("'a':D <-> '增':D <-> 'b':*D");
    expect(termMatchPhrase(['发'])).toBe("'发':D");
  });

  it('finds exactly what the characters in order find, on random Chinese, Latin and digits', async () => {
    // A small alphabet makes repeats, near misses and across-line neighbours common.
    const alphabet = ['增', '值', '税', '发', '票', '号', 'ab', 'inv', '12', '2024', ' ', '·'];
    let seed = 7;
    const random = (n: number) => {
      // mulberry32: a seeded generator whose low bits are random too.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const text = (length: number) => Array.from({ length }, () => alphabet[random(alphabet.length)]).join('');
    const cases: { lines: string[]; query: string }[] = [];
    for (let i = 0; i < 500; i++) {
      const lines = [text(4 + random(12)), text(4 + random(12))];
      // Half the queries are cut from the document (a match), half are random (mostly none).
      const source = lines[random(2)];
      const start = random(source.length);
      const query = random(2) ? source.slice(start, start + 1 + random(6)) : text(1 + random(4));
      if (streamTerms(query).length > 0) cases.push({ lines, query });
    }
    const results = await withAdminClient(async (client) => {
      const out: { chars: boolean; bigrams: boolean }[] = [];
      for (const { lines, query } of cases) {
        // The document's stream terms as every segmenter writes them (CharacterSegmenter alone).
        const vector = new TsvectorBuilder();
        addStreamTerms(vector, lines, 0);
        const terms = streamTerms(query);
        const { rows } = await client.query<{ chars: boolean; bigrams: boolean }>(
          'SELECT $1::tsvector @@ $2::tsquery AS chars, $1::tsvector @@ $3::tsquery AS bigrams',
          [vector.toString(), termPhrase(terms), termMatchPhrase(terms)],
        );
        out.push(rows[0]);
      }
      return out;
    });
    // The cases cover what can go wrong: matches, and a bigram followed by a Latin or digit term.
    expect(results.filter((row) => row.chars).length).toBeGreaterThan(150);
    const bigramThenLatin = (terms: string[]) =>
      terms.some((term, i) => i >= 2 && !isCjkChar(term) && isCjkChar(terms[i - 1]) && isCjkChar(terms[i - 2]));
    expect(cases.filter(({ query }) => bigramThenLatin(streamTerms(query))).length).toBeGreaterThan(20);
    expect(results.filter((row) => row.chars !== row.bigrams)).toEqual([]);
  });
});
