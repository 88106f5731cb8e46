/**
 * Ground truth, computed in TypeScript from the generated lines (never by asking a search engine):
 * a document is relevant to a query when its text holds what the query asks for.
 *
 * "Holds" compares canonical forms, line by line: NFKC, lower case, punctuation and spaces dropped,
 * except that one space is kept between two letters or two digits (so "smart eat" does not hold "tea",
 * but "京A·12345" holds "京A12345" and "增值税 发票" holds "值税发"). A needle never spans two lines.
 * Every engine is judged against the same relevant sets.
 */
import type { QueryClause } from './queries';

type CharClass = 'L' | 'D' | 'C' | 'S';

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const LETTER = /[\p{L}\p{M}]/u;
const DIGIT = /\p{N}/u;

function classify(ch: string): CharClass {
  const c = ch.charCodeAt(0);
  if (c < 0x80) {
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) return 'L';
    if (c >= 0x30 && c <= 0x39) return 'D';
    return 'S';
  }
  if (c >= 0x4e00 && c <= 0x9fff) return 'C';
  if (CJK.test(ch)) return 'C';
  if (LETTER.test(ch)) return 'L';
  if (DIGIT.test(ch)) return 'D';
  return 'S';
}

function canonLine(line: string): string {
  let out = '';
  let prev: CharClass | null = null;
  let gap = false;
  for (const ch of line.normalize('NFKC').toLowerCase()) {
    const cls = classify(ch);
    if (cls === 'S') {
      gap = true;
      continue;
    }
    if (gap && prev === cls && cls !== 'C') out += ' ';
    out += ch;
    prev = cls;
    gap = false;
  }
  return out;
}

/** A document's lines in canonical form, one per line. */
export const canonDocument = (lines: readonly string[]): string => lines.map(canonLine).join('\n');

/** A needle (what one query term asks for) in canonical form. */
export const canonNeedle = (text: string): string => canonLine(text);

/** Which documents in scope hold each needle, and which satisfy each query. */
export class GroundTruth {
  private readonly holders = new Map<string, Uint8Array>();
  private readonly positions = new Map<string, number>();

  /** `documents`: the canonical text of every document in scope; `ids`: their asset ids, same order. */
  constructor(
    private readonly documents: readonly string[],
    ids: readonly string[],
  ) {
    ids.forEach((id, i) => this.positions.set(id, i));
  }

  get size(): number {
    return this.documents.length;
  }

  private holding(needle: string): Uint8Array {
    let set = this.holders.get(needle);
    if (!set) {
      set = new Uint8Array(this.documents.length);
      for (let i = 0; i < this.documents.length; i++) if (this.documents[i].includes(needle)) set[i] = 1;
      this.holders.set(needle, set);
    }
    return set;
  }

  private satisfies(clauses: readonly QueryClause[], i: number): boolean {
    return clauses.every((clause) => {
      const any = clause.anyOf.some((needle) => this.holding(needle)[i] === 1);
      return clause.negated ? !any : any;
    });
  }

  /** How many documents in scope are relevant. */
  relevantCount(clauses: readonly QueryClause[]): number {
    let count = 0;
    for (let i = 0; i < this.documents.length; i++) if (this.satisfies(clauses, i)) count++;
    return count;
  }

  /** Whether one asset is relevant (false for assets out of scope, trashed ones included). */
  isRelevant(clauses: readonly QueryClause[], assetId: string): boolean {
    const i = this.positions.get(assetId);
    return i !== undefined && this.satisfies(clauses, i);
  }
}

/**
 * recall@10: of the min(10, |relevant|) relevant documents a perfect engine would show first, the share
 * that the engine's first 10 results hold. `ranked`: the engine's results in order.
 */
export function recallAt10(
  truth: GroundTruth,
  clauses: readonly QueryClause[],
  relevant: number,
  ranked: readonly string[],
): number {
  if (relevant === 0) return NaN;
  const found = ranked.slice(0, 10).filter((id) => truth.isRelevant(clauses, id)).length;
  return found / Math.min(10, relevant);
}

/** precision@10: the share of the first results (up to 10) that are relevant; NaN when none came back. */
export function precisionAt10(truth: GroundTruth, clauses: readonly QueryClause[], ranked: readonly string[]): number {
  const top = ranked.slice(0, 10);
  if (top.length === 0) return NaN;
  return top.filter((id) => truth.isRelevant(clauses, id)).length / top.length;
}
