import { normalizeText, streamTerms } from './text-terms';

/**
 * The search box's language, parsed without ever failing: whatever a user types is a query.
 *
 *   ocr: 发票 2024          OCR only (prefix in any case, also full-width "ocr："); terms are ANDed
 *   "hello world"          a phrase: its terms in this order
 *   -draft                 without this term (or -"a phrase")
 *   发票 OR 收据            either (binds tighter than AND, as in web search engines)
 *
 * Without the prefix the query is "mixed": OCR text and CLIP similarity, fused. Operators and quotes
 * that lead nowhere (a lone `-`, `OR` at either end, an unclosed quote) are read as plainly as possible.
 */

export type SearchMode = 'ocr' | 'mixed';

export interface QueryTerm {
  /** What the user typed for this term (a phrase without its quotes), normalised. */
  text: string;
  /** Its search terms (see text-terms.ts): CJK characters and lower-cased letter/digit runs. */
  terms: string[];
  phrase: boolean;
}

/** One AND-ed part of the query: any of its alternatives, or (negated) none of them. */
export interface QueryClause {
  negated: boolean;
  anyOf: QueryTerm[];
}

export interface ParsedQuery {
  mode: SearchMode;
  /** The query without its prefix, for the CLIP text encoder. */
  text: string;
  clauses: QueryClause[];
}

/** Limits that keep one query's cost bounded; longer input is refused by the API, not truncated. */
export const MAX_QUERY_LENGTH = 500;
export const MAX_QUERY_TERMS = 16;

const OCR_PREFIX = /^\s*ocr\s*:/i;

interface Token {
  text: string;
  phrase: boolean;
  negated: boolean;
  or: boolean;
}

export function parseQuery(input: string): ParsedQuery {
  const normalized = normalizeText(input);
  const prefixed = OCR_PREFIX.test(normalized);
  const text = (prefixed ? normalized.replace(OCR_PREFIX, '') : normalized).replace(/\s+/g, ' ').trim();
  return { mode: prefixed ? 'ocr' : 'mixed', text, clauses: toClauses(tokenize(text)) };
}

/** True when the query has something to look for (at least one positive term). */
export const hasPositiveTerms = (query: ParsedQuery): boolean => query.clauses.some((clause) => !clause.negated);

/** Every positive term, for highlighting. */
export const positiveTerms = (query: ParsedQuery): QueryTerm[] =>
  query.clauses.filter((clause) => !clause.negated).flatMap((clause) => clause.anyOf);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === ' ') {
      i++;
      continue;
    }
    let negated = false;
    if (text[i] === '-' && i + 1 < text.length && text[i + 1] !== ' ') {
      negated = true;
      i++;
    }
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      const stop = end === -1 ? text.length : end;
      tokens.push({ text: text.slice(i + 1, stop).trim(), phrase: true, negated, or: false });
      i = stop + 1;
      continue;
    }
    let end = text.indexOf(' ', i);
    if (end === -1) end = text.length;
    const word = text.slice(i, end);
    tokens.push({ text: word, phrase: false, negated, or: !negated && word === 'OR' });
    i = end;
  }
  return tokens;
}

function toClauses(tokens: Token[]): QueryClause[] {
  const clauses: QueryClause[] = [];
  let joinNext = false;
  for (const token of tokens) {
    if (token.or) {
      joinNext = clauses.length > 0 && !clauses[clauses.length - 1].negated;
      continue;
    }
    const term: QueryTerm = { text: token.text, terms: streamTerms(token.text), phrase: token.phrase };
    // Punctuation-only input ("&|!", a lone quote) has nothing to search for.
    if (term.terms.length === 0) {
      joinNext = false;
      continue;
    }
    if (joinNext && !token.negated) {
      clauses[clauses.length - 1].anyOf.push(term);
    } else if (clauses.length < MAX_QUERY_TERMS) {
      clauses.push({ negated: token.negated, anyOf: [term] });
    }
    joinNext = false;
  }
  // Cap OR alternatives too, so no clause grows without bound.
  for (const clause of clauses) clause.anyOf = clause.anyOf.slice(0, MAX_QUERY_TERMS);
  return clauses;
}
