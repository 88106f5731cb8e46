import { Logger } from '@nestjs/common';
import { Kysely, RawBuilder, sql } from 'kysely';
import type { QueryTerm } from './query-parser';
import { addStreamTerms, normalizeText, termPhrase, TsvectorBuilder, wordPhrase } from './text-terms';

/**
 * Chinese word segmentation, in the database or in the app; the queries are the same either way.
 *
 * A document's tsvector holds its words with weight A and its per-character terms with weight D, so a
 * whole-word match ranks far above a substring match (ts_rank_cd with weights {0.1, 0.2, 0.4, 1.0}).
 * A term matches through either its words in order or its characters in order.
 */

export type SegmenterName = 'zhparser' | 'jieba' | 'characters';
export type SegmenterChoice = SegmenterName | 'auto';

/** The text search configuration sql/zhparser.sql creates. */
export const ZHPARSER_CONFIG = 'chinese';

export interface Segmenter {
  readonly name: SegmenterName;
  /** SQL for the tsvector of a document's lines. */
  documentVector(lines: readonly string[]): RawBuilder<string>;
  /**
   * SQL for the tsquery that ranks one term (or phrase) of a user's query: its words in order, or its
   * characters in order. What matches is decided by the characters alone (termMatchQuery): a
   * segmenter may drop words it has no mapping for (zhparser drops 左, 和, 的 ...), and its word form
   * would then match more than was typed.
   */
  termQuery(term: QueryTerm): RawBuilder<string>;
  /** The term's words alone (no characters), or null when this segmenter has none for it. */
  wordQuery(term: QueryTerm): RawBuilder<string> | null;
}

/** The tsquery that decides whether a document holds a term: its characters (and letter/digit runs) in order. */
export function termMatchQuery(term: QueryTerm): RawBuilder<string> {
  return sql<string>`${termPhrase(term.terms)}::tsquery`;
}

/** Words from zhparser (SCWS) in Postgres: `to_tsvector('chinese', ...)`, `phraseto_tsquery('chinese', ...)`. */
export class ZhparserSegmenter implements Segmenter {
  readonly name = 'zhparser';

  documentVector(lines: readonly string[]): RawBuilder<string> {
    const chars = new TsvectorBuilder();
    addStreamTerms(chars, lines, 0);
    const text = normalizeText(lines.join('\n'));
    // `||` shifts the right-hand positions past the words', so character phrases stay intact.
    return sql<string>`(setweight(to_tsvector(${sql.lit(ZHPARSER_CONFIG)}::regconfig, ${text}), 'A') || ${chars.toString()}::tsvector)`;
  }

  termQuery(term: QueryTerm): RawBuilder<string> {
    return sql<string>`(${this.wordQuery(term)} || ${termPhrase(term.terms)}::tsquery)`;
  }

  wordQuery(term: QueryTerm): RawBuilder<string> {
    return sql<string>`phraseto_tsquery(${sql.lit(ZHPARSER_CONFIG)}::regconfig, ${term.text})`;
  }
}

interface JiebaLike {
  cut(sentence: string, hmm?: boolean): string[];
}

const WORD = /[\p{L}\p{N}]/u;

/** Words from @node-rs/jieba in the app, written as tsvector/tsquery input (no database extension needed). */
export class JiebaSegmenter implements Segmenter {
  readonly name = 'jieba';
  private jieba?: JiebaLike;

  private words(text: string): string[] {
    if (!this.jieba) {
      // Loaded on first use (~0.25 s): a zhparser deployment never pays for the dictionary.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Jieba } = require('@node-rs/jieba') as typeof import('@node-rs/jieba');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { dict } = require('@node-rs/jieba/dict') as { dict: Uint8Array };
      this.jieba = Jieba.withDict(dict);
    }
    return this.jieba
      .cut(normalizeText(text), false)
      .filter((word) => WORD.test(word))
      .map((word) => word.trim().toLowerCase().slice(0, 64))
      .filter(Boolean);
  }

  documentVector(lines: readonly string[]): RawBuilder<string> {
    const vector = new TsvectorBuilder();
    let position = 0;
    for (const line of lines) {
      for (const word of this.words(line)) vector.add(word, ++position, 'A');
    }
    addStreamTerms(vector, lines, position);
    return sql<string>`${vector.toString()}::tsvector`;
  }

  termQuery(term: QueryTerm): RawBuilder<string> {
    const words = this.words(term.text);
    const chars = termPhrase(term.terms);
    const query = words.length > 0 ? `(${wordPhrase(words)}) | (${chars})` : chars;
    return sql<string>`${query}::tsquery`;
  }

  wordQuery(term: QueryTerm): RawBuilder<string> | null {
    const words = this.words(term.text);
    return words.length > 0 ? sql<string>`${wordPhrase(words)}::tsquery` : null;
  }
}

/**
 * No word segmentation at all: only the per-character terms. Every query still finds what it should
 * (characters in order); whole words just do not rank above substrings. The last resort, for an
 * Immich server with neither zhparser in its database nor jieba installed.
 */
export class CharacterSegmenter implements Segmenter {
  readonly name = 'characters';

  documentVector(lines: readonly string[]): RawBuilder<string> {
    const vector = new TsvectorBuilder();
    addStreamTerms(vector, lines, 0);
    return sql<string>`${vector.toString()}::tsvector`;
  }

  termQuery(term: QueryTerm): RawBuilder<string> {
    return sql<string>`${termPhrase(term.terms)}::tsquery`;
  }

  wordQuery(): null {
    return null;
  }
}

/** Whether @node-rs/jieba can be loaded here (inside Immich it is not one of Immich's dependencies). */
function jiebaAvailable(): boolean {
  try {
    require.resolve('@node-rs/jieba');
    return true;
  } catch {
    return false;
  }
}

export class SegmenterUnavailableError extends Error {}

/**
 * zhparser when the database has the `chinese` configuration on the zhparser parser, else jieba; a
 * forced choice that the database cannot honour stops the start with a message saying what to run.
 */
export async function chooseSegmenter<DB>(
  db: Kysely<DB>,
  choice: SegmenterChoice,
  logger = new Logger('Segmenter'),
): Promise<Segmenter> {
  let available = false;
  if (choice !== 'jieba') {
    const { rows } = await sql<{ ok: boolean }>`
      SELECT EXISTS (
        SELECT 1 FROM pg_ts_config c JOIN pg_ts_parser p ON p.oid = c.cfgparser
        WHERE c.cfgname = ${ZHPARSER_CONFIG} AND p.prsname = 'zhparser'
      ) AS ok`.execute(db);
    available = rows[0]?.ok === true;
  }
  if (choice === 'zhparser' && !available) {
    throw new SegmenterUnavailableError(
      `SEGMENTER=zhparser, but the database has no '${ZHPARSER_CONFIG}' text search configuration on zhparser: run sql/zhparser.sql as a superuser, or use SEGMENTER=auto`,
    );
  }
  if (available) {
    logger.log('Chinese segmentation: zhparser in the database');
    return new ZhparserSegmenter();
  }
  if (jiebaAvailable()) {
    logger.log(
      `Chinese segmentation: jieba in the app${choice === 'auto' ? " (no zhparser 'chinese' configuration in the database)" : ''}`,
    );
    return new JiebaSegmenter();
  }
  if (choice === 'jieba')
    throw new SegmenterUnavailableError('SEGMENTER=jieba, but @node-rs/jieba is not installed here');
  logger.warn(
    'Chinese segmentation: none (no zhparser in the database, no jieba installed): characters only, so whole words do not rank above substrings; run sql/zhparser.sql on a Postgres with zhparser',
  );
  return new CharacterSegmenter();
}
