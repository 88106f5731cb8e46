/**
 * The benchmark's queries, drawn from the words of real generated documents (so each has at least one
 * relevant document in scope), with what each one asks for as needles for the ground truth.
 */
import { docLines, GeneratedDoc, Line, Rng, Seg } from './generate';
import { canonDocument, canonNeedle } from './truth';

export const KINDS = [
  'char',
  'substring',
  'multiword',
  'latin',
  'number',
  'plate',
  'phrase',
  'exclusion',
  'or',
  'mixed',
] as const;
export type Kind = (typeof KINDS)[number];

export const KIND_LABELS: Record<Kind, string> = {
  char: 'one Chinese character',
  substring: 'Chinese substring across two words',
  multiword: 'two Chinese words (AND)',
  latin: 'Latin word, any case',
  number: '6-8 digits from inside a long number',
  plate: 'licence plate typed without separator',
  phrase: 'quoted phrase of two words',
  exclusion: 'word -word',
  or: 'word OR word',
  mixed: 'Chinese word + Latin word',
};

/** What a query asks for, in the ground truth's terms: every clause holds (a negated one: none of its needles). */
export interface QueryClause {
  negated: boolean;
  anyOf: string[];
}

export interface BenchQuery {
  kind: Kind;
  /** What the user types (without the `ocr:` prefix). */
  text: string;
  clauses: QueryClause[];
}

const must = (...texts: string[]): QueryClause => ({ negated: false, anyOf: texts.map(canonNeedle) });
const mustNot = (text: string): QueryClause => ({ negated: true, anyOf: [canonNeedle(text)] });

const isWord = (seg: Seg) => seg.k === 'zh' || (seg.k === 'en' && seg.t.length >= 3);
const words = (doc: GeneratedDoc, kind?: 'zh' | 'en') =>
  doc.lines.flat().filter((seg) => isWord(seg) && (!kind || seg.k === kind));

/** Two words next to each other in a line (at most a space between them), of the same script. */
function adjacentPairs(line: Line): [Seg, Seg][] {
  const pairs: [Seg, Seg][] = [];
  for (let i = 0; i < line.length - 1; i++) {
    const a = line[i];
    let j = i + 1;
    if (line[j].k === 'sym' && line[j].t === ' ') j++;
    const b = line[j];
    if (b && isWord(a) && isWord(b) && a.k === b.k) pairs.push([a, b]);
  }
  return pairs;
}

/**
 * Draws queries of every kind from `sample` (documents in scope, not trashed). `vocabulary`: every
 * Chinese word the documents use, so that a "substring across words" is never a word itself.
 */
export class QueryDrawer {
  private readonly rng: Rng;
  private readonly byType = new Map<string, GeneratedDoc[]>();

  constructor(
    private readonly sample: readonly GeneratedDoc[],
    private readonly vocabulary: ReadonlySet<string>,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    for (const doc of sample) {
      const list = this.byType.get(doc.type) ?? [];
      list.push(doc);
      this.byType.set(doc.type, list);
    }
  }

  /** `count` distinct queries of one kind (fewer only when the sample cannot give that many). */
  draw(kind: Kind, count: number, exclude: ReadonlySet<string> = new Set()): BenchQuery[] {
    const seen = new Set(exclude);
    const out: BenchQuery[] = [];
    for (let attempt = 0; out.length < count && attempt < count * 200; attempt++) {
      const query = this.one(kind, this.rng.pick(this.sample));
      if (query && !seen.has(query.text)) {
        seen.add(query.text);
        out.push(query);
      }
    }
    return out;
  }

  private one(kind: Kind, doc: GeneratedDoc): BenchQuery | null {
    const r = this.rng;
    switch (kind) {
      case 'char': {
        const zh = words(doc, 'zh');
        if (!zh.length) return null;
        const chars = [...r.pick(zh).t];
        const char = r.pick(chars);
        return { kind, text: char, clauses: [must(char)] };
      }
      case 'substring': {
        const pairs = doc.lines.flatMap(adjacentPairs).filter(([a]) => a.k === 'zh');
        if (!pairs.length) return null;
        const [a, b] = r.pick(pairs);
        const head = [...a.t].slice(-1).join('');
        const tail = [...b.t].slice(0, r.range(1, Math.min(2, [...b.t].length))).join('');
        const text = head + tail;
        if (this.vocabulary.has(text)) return null;
        return { kind, text, clauses: [must(text)] };
      }
      case 'multiword': {
        const zh = words(doc, 'zh').filter((seg) => [...seg.t].length >= 2);
        if (zh.length < 2) return null;
        const a = r.pick(zh).t;
        const b = r.pick(zh).t;
        if (a.includes(b) || b.includes(a)) return null;
        return { kind, text: `${a} ${b}`, clauses: [must(a), must(b)] };
      }
      case 'latin': {
        const latin = words(doc, 'en');
        if (!latin.length) return null;
        const word = r.pick(latin).t;
        const text = r.pick([
          word.toLowerCase(),
          word.toUpperCase(),
          word[0].toUpperCase() + word.slice(1).toLowerCase(),
        ]);
        return { kind, text, clauses: [must(text)] };
      }
      case 'number': {
        const long = doc.lines.flat().filter((seg) => (seg.k === 'num' || seg.k === 'code') && /\d{12,}/.test(seg.t));
        if (!long.length) return null;
        const digits = /\d{12,}/.exec(r.pick(long).t)![0];
        const length = r.range(6, 8);
        const start = r.range(1, digits.length - length - 1);
        const text = digits.slice(start, start + length);
        return { kind, text, clauses: [must(text)] };
      }
      case 'plate': {
        const plates = doc.lines.flat().filter((seg) => seg.k === 'plate');
        if (!plates.length) return null;
        const typed = r.pick(plates).t.replace(/[·\s]/g, '');
        const text = r.chance(0.3) ? typed.toLowerCase() : typed;
        return { kind, text, clauses: [must(text)] };
      }
      case 'phrase': {
        const pairs = doc.lines.flatMap(adjacentPairs);
        if (!pairs.length) return null;
        const [a, b] = r.pick(pairs);
        const phrase = `${a.t} ${b.t}`;
        return { kind, text: `"${phrase}"`, clauses: [must(phrase)] };
      }
      case 'exclusion': {
        const own = words(doc);
        const other = r.pick(this.byType.get(doc.type) ?? []);
        if (!own.length || !other) return null;
        const a = r.pick(own).t;
        const b = r.pick(words(other));
        const text = canonDocument(docLines(doc));
        if (!b || text.includes(canonNeedle(b.t)) || a.includes(b.t) || b.t.includes(a)) return null;
        return { kind, text: `${a} -${b.t}`, clauses: [must(a), mustNot(b.t)] };
      }
      case 'or': {
        const a = words(doc);
        const b = words(r.pick(this.sample));
        if (!a.length || !b.length) return null;
        const [x, y] = [r.pick(a).t, r.pick(b).t];
        if (x === y) return null;
        return { kind, text: `${x} OR ${y}`, clauses: [must(x, y)] };
      }
      case 'mixed': {
        const zh = words(doc, 'zh');
        const latin = words(doc, 'en');
        if (!zh.length || !latin.length) return null;
        const [a, b] = [r.pick(zh).t, r.pick(latin).t];
        return { kind, text: r.chance(0.5) ? `${a} ${b}` : `${b} ${a}`, clauses: [must(a), must(b)] };
      }
    }
  }
}
