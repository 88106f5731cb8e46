import { RawBuilder, sql } from 'kysely';
import type { ParsedQuery, QueryTerm } from './query-parser';
import { Segmenter, termMatchQuery } from './segmenter';
import { latinTerms } from './text-terms';

/**
 * The SQL of "does this document match the query, and how well": built from a parsed query, every
 * user-supplied piece a bound parameter or tsquery input we quoted ourselves (never raw to_tsquery).
 * Columns are those of immich_ai.ocr_document aliased `d`.
 */

/** ts_rank_cd weights {D, C, B, A}: per-character terms (D) 0.1, words (A) 1.0. */
const RANK_WEIGHTS = '{0.1, 0.2, 0.4, 1.0}';
/** What a letter/digit substring match (pg_trgm) adds: below any whole-word match. */
const SUBSTRING_SCORE = 0.05;

/** A term that is one letter/digit run of 3+ characters also matches inside longer runs (plates, order numbers). */
function substringPattern(term: QueryTerm): string | null {
  const runs = latinTerms(term.text);
  if (runs.length !== 1 || term.phrase || runs[0].length !== term.text.replace(/[^\p{L}\p{N}\p{M}]/gu, '').length)
    return null;
  return `%${runs[0].replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Whether a document holds a term: by its characters in order (words only rank; see
 * Segmenter.termQuery), or as a substring of a letter/digit run. A term that is one run and one
 * stream term ("water", "07909010") is decided by the substring alone: whatever its lexeme or a
 * lexeme it begins matches holds it as a substring too, and Postgres gathers every lexeme a prefix
 * matches from the index before anything else ('subtotal':* took 70 ms of GIN work at 1M documents,
 * its trigrams 10; bench/search.ts --explain). A run OCR may have split ("沪B6789C" read as
 * "沪B·6789C") still matches through its terms in order.
 */
function termMatch(term: QueryTerm): RawBuilder<boolean> {
  const characters = sql<boolean>`d."searchVector" @@ ${termMatchQuery(term)}`;
  const pattern = substringPattern(term);
  if (!pattern) return characters;
  const substring = sql<boolean>`d."searchLatin" LIKE ${pattern}`;
  return term.terms.length === 1 ? substring : sql<boolean>`(${characters} OR ${substring})`;
}

export class OcrMatch {
  constructor(
    private readonly segmenter: Segmenter,
    readonly query: ParsedQuery,
  ) {}

  /** True when the query has anything for OCR text to match. */
  get searchable(): boolean {
    return this.query.clauses.some((clause) => !clause.negated);
  }

  /** WHERE: every clause holds; a negated clause's terms are all absent. */
  where(): RawBuilder<boolean> {
    const clauses = this.query.clauses.map((clause) => {
      const any = sql.join(
        clause.anyOf.map((term) => termMatch(term)),
        sql` OR `,
      );
      return clause.negated ? sql`NOT (${any})` : sql`(${any})`;
    });
    return sql<boolean>`(${sql.join(clauses, sql` AND `)})`;
  }

  /**
   * Where the query's terms appear as whole words (every positive clause through one of its
   * alternatives' words), on top of where(); null when some term has no word form here.
   */
  wordsWhere(): RawBuilder<boolean> | null {
    const words = this.wordsHeld();
    return words ? sql<boolean>`(${this.where()} AND ${words})` : null;
  }

  /** The words part of wordsWhere() alone: true for a document of where() that has the words too. */
  wordsHeld(): RawBuilder<boolean> | null {
    const positive = this.query.clauses.filter((c) => !c.negated);
    // A one-character term is its own word: the newest matches are already the newest word matches,
    // and a second pool for it cost 230 ms at 200k documents for "小" (bench/search.ts --explain).
    if (positive.every((clause) => clause.anyOf.every((term) => [...term.text].length === 1))) return null;
    const clauses = [];
    for (const clause of positive) {
      const words = clause.anyOf.map((term) => this.segmenter.wordQuery(term));
      if (words.some((word) => word === null)) return null;
      clauses.push(
        sql`(${sql.join(
          words.map((word) => sql`d."searchVector" @@ ${word}`),
          sql` OR `,
        )})`,
      );
    }
    return sql<boolean>`(${sql.join(clauses, sql` AND `)})`;
  }

  /**
   * The score: per positive clause, the cover-density rank of its best-matching form (words count ten
   * times characters), plus a little for each letter/digit substring match. Ties are broken by date.
   */
  score(): RawBuilder<number> {
    const parts = this.query.clauses
      .filter((clause) => !clause.negated)
      .flatMap((clause) => {
        const tsquery = sql.join(
          clause.anyOf.map((term) => this.segmenter.termQuery(term)),
          sql` || `,
        );
        const rank = sql`ts_rank_cd(${sql.lit(RANK_WEIGHTS)}::float4[], d."searchVector", ${tsquery})`;
        const substrings = clause.anyOf
          .map(substringPattern)
          .filter((pattern): pattern is string => pattern !== null)
          .map((pattern) => sql`CASE WHEN d."searchLatin" LIKE ${pattern} THEN ${sql.lit(SUBSTRING_SCORE)} ELSE 0 END`);
        return [rank, ...substrings];
      });
    return sql<number>`(${sql.join(parts, sql` + `)})::float8`;
  }
}
