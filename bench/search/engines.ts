/**
 * The three OCR searches compared, each as it runs in its own product, each asked for one page of 10:
 *
 *   ours          SearchRepository.searchOcr(parseQuery('ocr:' + q)), ranked by relevance.
 *   immich        Immich v2.4.1's metadata search with `ocr`: searchAssetBuilder's OCR condition
 *                 (server/src/utils/database.ts) under SearchRepository.searchMetadata's order and paging
 *                 (server/src/repositories/search.repository.ts): newest first, no ranking.
 *   seed          the seed's OCRInfoRepository.searchOcr (github.com/eric-gitta-moore/immich,
 *                 server/src/repositories/ocr-info.repository.ts): the raw query into to_tsquery with the
 *                 database's default text search configuration (its migration sets it to 'chinese'),
 *                 `ORDER BY rank` ascending (worst match first), and to_tsvector(f_unaccent(text)): an
 *                 expression its GIN index on to_tsvector('chinese', text) cannot serve.
 *   seed-indexed  the same, with only the expressions changed to the indexed ones: the seed's results
 *                 (same predicate, same order; ties may fall differently) at the speed its index allows.
 */
import { Kysely, sql } from 'kysely';
import type { ExtensionDatabase } from '../../src/extension/database/schema';
import type { Segmenter } from '../../src/extension/search/segmenter';
import { parseQuery } from '../../src/extension/search/query-parser';
import type { Cursor } from '../../src/extension/search/result-windows';
import { FusionWeights, SearchRepository } from '../../src/extension/search/search.repository';

/**
 * Immich v2.4.1's `isCJK` and `tokenizeForSearch`, server/src/utils/database.ts lines 309-347, copied
 * unchanged (less an eslint comment): runs of CJK characters become overlapping bigrams (a lone one
 * stays itself), anything else splits on characters <= U+0020. Immich stores these tokens, space-joined,
 * in ocr_search.text (server/src/services/ocr.service.ts, parseOcrResults) and tokenises the query the
 * same way. The benchmark checks this copy against Immich's built server when it finds one.
 */
const isCJK = (c: number): boolean =>
  (c >= 0x4e_00 && c <= 0x9f_ff) ||
  (c >= 0xac_00 && c <= 0xd7_af) ||
  (c >= 0x30_40 && c <= 0x30_9f) ||
  (c >= 0x30_a0 && c <= 0x30_ff) ||
  (c >= 0x34_00 && c <= 0x4d_bf);

export const tokenizeForSearch = (text: string): string[] => {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c <= 32) {
      i++;
      continue;
    }

    const start = i;
    if (isCJK(c)) {
      while (i < text.length && isCJK(text.charCodeAt(i))) {
        i++;
      }
      if (i - start === 1) {
        tokens.push(text[start]);
      } else {
        for (let k = start; k < i - 1; k++) {
          tokens.push(text[k] + text[k + 1]);
        }
      }
    } else {
      while (i < text.length && text.charCodeAt(i) > 32 && !isCJK(text.charCodeAt(i))) {
        i++;
      }
      tokens.push(text.slice(start, i));
    }
  }
  return tokens;
};

export const ENGINES = ['ours', 'immich', 'seed-indexed', 'seed'] as const;
export type EngineName = (typeof ENGINES)[number];

export const PAGE_SIZE = 10;

interface BenchTables extends ExtensionDatabase {
  ocr_search: { assetId: string; text: string };
  'seed.ocr_info': { assetId: string; text: string };
}

export interface Searcher {
  /** The asset ids of the first page, in the engine's order. */
  search(engine: EngineName, query: string): Promise<string[]>;
  mixed(query: string, embedding: readonly number[] | null): Promise<string[]>;
  /** Ours, one page from a cursor (null: the first page). */
  page(query: string, cursor: Cursor | null, size: number): Promise<{ ids: string[]; next: Cursor | null }>;
  /** Ours, a page by its number, on a repository that has served nothing before (no cursor remembered). */
  coldPage(query: string, page: number, size: number): Promise<string[]>;
}

export function createSearcher(
  db: Kysely<ExtensionDatabase>,
  segmenter: Segmenter,
  repository: SearchRepository,
  userIds: readonly string[],
  weights: FusionWeights,
  textCandidates?: number,
): Searcher {
  const bench = db as unknown as Kysely<BenchTables>;
  const scope = { userIds, page: 1, size: PAGE_SIZE, textCandidates };
  // Immich's anyUuid(): the ids as one array literal.
  const owners = sql<string>`any(${`{${userIds.join(',')}}`}::uuid[])`;

  const immich = (query: string) =>
    bench
      .selectFrom('asset')
      .where('asset.visibility', '=', 'timeline')
      .where('asset.ownerId', '=', owners)
      .innerJoin('ocr_search', 'asset.id', 'ocr_search.assetId')
      .where(() => sql<boolean>`f_unaccent(ocr_search.text) %>> f_unaccent(${tokenizeForSearch(query).join(' ')})`)
      .where('asset.deletedAt', 'is', null)
      .selectAll('asset')
      .orderBy('asset.fileCreatedAt', 'desc')
      .limit(PAGE_SIZE + 1)
      .offset(0)
      .execute();

  const seed = (query: string, indexed: boolean) => {
    const vector = indexed
      ? sql`to_tsvector('chinese'::regconfig, ocr_info.text)`
      : sql`to_tsvector(f_unaccent(ocr_info.text))`;
    const tsquery = indexed
      ? sql`to_tsquery('chinese'::regconfig, f_unaccent(${query}))`
      : sql`to_tsquery(f_unaccent(${query}))`;
    return bench
      .selectFrom('asset')
      .where('asset.ownerId', '=', owners)
      .where('asset.visibility', '=', 'timeline')
      .where('asset.deletedAt', 'is', null)
      .selectAll('asset')
      .innerJoin('seed.ocr_info as ocr_info', 'asset.id', 'ocr_info.assetId')
      .select(sql<number>`ts_rank(${vector}, ${tsquery})`.as('rank'))
      .where(() => sql<boolean>`${vector} @@ ${tsquery}`)
      .limit(PAGE_SIZE + 1)
      .offset(0)
      .orderBy('rank')
      .execute();
  };

  return {
    async search(engine, query) {
      switch (engine) {
        case 'ours': {
          const page = await repository.searchOcr(parseQuery(`ocr:${query}`), scope);
          return page.items.map((item) => item.assetId);
        }
        case 'immich':
          return (await immich(query)).slice(0, PAGE_SIZE).map((row) => row.id);
        case 'seed':
        case 'seed-indexed':
          return (await seed(query, engine === 'seed-indexed')).slice(0, PAGE_SIZE).map((row) => row.id);
      }
    },
    async mixed(query, embedding) {
      const page = await repository.searchMixed(parseQuery(query), embedding, scope, weights);
      return page.items.map((item) => item.assetId);
    },
    async page(query, cursor, size) {
      const page = await repository.searchOcr(parseQuery(`ocr:${query}`), {
        ...scope,
        size,
        ...(cursor ? { cursor } : {}),
      });
      return { ids: page.items.map((item) => item.assetId), next: page.nextCursor ?? null };
    },
    async coldPage(query, page, size) {
      const fresh = new SearchRepository(db, segmenter);
      const result = await fresh.searchOcr(parseQuery(`ocr:${query}`), { ...scope, page, size });
      return result.items.map((item) => item.assetId);
    },
  };
}
