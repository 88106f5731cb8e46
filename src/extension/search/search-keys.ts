import { quoteLexeme } from './text-terms';

/**
 * The search keys of migrations/0003 as a query: whose documents ('o<owner>') and, for a date range,
 * which months ('m202405') or whole years ('y2024'), in UTC as the generated column computes them.
 * The months cover the range (its first and last month whole): the caller keeps the exact date
 * conditions beside it, the keys only let the search index skip everything else.
 */

/** Beyond this many periods a range narrows little: the owner alone is asked for. */
const MAX_PERIODS = 64;

const monthIndex = (date: Date) => date.getUTCFullYear() * 12 + date.getUTCMonth();

/** The lexemes of the months from `from`'s to the one before `before`, whole years as one year lexeme. */
export function periodLexemes(from: Date, before: Date): string[] {
  const first = monthIndex(from);
  // `before` is exclusive: a range ending exactly at a month's start does not reach into that month.
  const last = monthIndex(new Date(before.getTime() - 1));
  const lexemes: string[] = [];
  // Stops one past MAX_PERIODS: callers treat a longer cover as no cover.
  for (let month = first; month <= last && lexemes.length <= MAX_PERIODS;) {
    const year = Math.floor(month / 12);
    if (month % 12 === 0 && month + 11 <= last) {
      lexemes.push(`y${year}`);
      month += 12;
    } else {
      lexemes.push(`m${year * 100 + (month % 12) + 1}`);
      month += 1;
    }
  }
  return lexemes;
}

/** tsquery input: one of these owners, and (for a range bounded on both sides) one of its periods. */
export function searchKeysQuery(ownerIds: readonly string[], from: Date | null, before: Date | null): string {
  const owners = `(${ownerIds.map((id) => quoteLexeme(`o${id.toLowerCase()}`)).join(' | ')})`;
  if (!from || !before) return owners;
  const periods = periodLexemes(from, before);
  // An empty range: nothing matches.
  if (periods.length === 0) return `${owners} & !${owners}`;
  if (periods.length > MAX_PERIODS) return owners;
  return `${owners} & (${periods.map(quoteLexeme).join(' | ')})`;
}
