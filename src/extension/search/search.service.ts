import { BadRequestException, Inject, Injectable, Logger } from '@nestjs/common';
import { EXTENSION_CONFIG } from '../database/database.tokens';
import { InferenceRepository } from '../inference/inference.repository';
import { OcrDocumentRepository, OcrLineRow } from '../ocr/ocr-document.repository';
import { highlightRanges } from './highlight';
import { hasPositiveTerms, parseQuery, positiveTerms, SearchMode } from './query-parser';
import { decodeCursor, encodeCursor } from './result-windows';
import { RankedAsset, SearchRepository } from './search.repository';
import type { ExtensionConfig } from '../../config/extension.config';

export interface SearchHitLine {
  lineNo: number;
  text: string;
  box: number[];
  boxScore: number;
  textScore: number;
  /** [start, end) offsets into text where query terms matched. */
  highlights: Array<[number, number]>;
}

export interface SearchHit {
  assetId: string;
  score: number;
  ocr: { rank: number; score: number } | null;
  clip: { rank: number; distance: number } | null;
  fileCreatedAt: Date;
  originalFileName: string;
  /** The asset's OCR lines that match the query, with their boxes. */
  lines: SearchHitLine[];
}

export interface SearchResult {
  mode: SearchMode;
  page: number;
  size: number;
  hasNextPage: boolean;
  /**
   * `ocr:` searches: where the next page starts (pass it back as `cursor`); null on the last page.
   * Cheaper than the next page number, and unaffected by photos added meanwhile.
   */
  nextCursor?: string | null;
  hits: SearchHit[];
  /** Set when part of the ranking was unavailable (CLIP with the inference service down): OCR alone ranked. */
  degraded?: string;
}

export interface SearchRequest {
  query: string;
  /** Whose assets to search (the caller's own; inside Immich also partners sharing their timeline). */
  userIds: readonly string[];
  page: number;
  size: number;
  /** An earlier page's nextCursor (`ocr:` searches only). */
  cursor?: string;
}

/** `ocr:` queries rank OCR text alone; plain queries fuse OCR with CLIP when SEARCH_MIXED is on. */
@Injectable()
export class SearchService {
  private readonly logger = new Logger('Search');

  constructor(
    @Inject(EXTENSION_CONFIG) private readonly config: ExtensionConfig,
    private readonly repository: SearchRepository,
    private readonly documents: OcrDocumentRepository,
    private readonly inference: InferenceRepository,
  ) {}

  async search({ query: input, userIds, page, size, cursor }: SearchRequest): Promise<SearchResult> {
    const query = parseQuery(input);
    const mode: SearchMode = query.mode === 'ocr' || !this.config.search.mixed ? 'ocr' : 'mixed';
    const start = cursor === undefined ? undefined : decodeCursor(cursor);
    if (start === null) throw new BadRequestException('cursor is not one this API gave out');
    if (start && mode !== 'ocr') throw new BadRequestException('cursor pages `ocr:` searches only');
    const scope = { userIds, page, size, textCandidates: this.config.search.textCandidates, cursor: start };
    let degraded: string | undefined;
    let result;
    if (mode === 'ocr') {
      result = await this.repository.searchOcr(query, scope);
    } else {
      let embedding: number[] | null = null;
      if (query.text) {
        try {
          embedding = await this.inference.encodeText(query.text);
        } catch (error) {
          degraded = `CLIP unavailable, OCR text only: ${(error as Error).message}`;
          this.logger.warn(degraded);
        }
      }
      result =
        embedding || hasPositiveTerms(query)
          ? await this.repository.searchMixed(query, embedding, scope, this.config.search)
          : { items: [], hasNextPage: false };
    }

    const lines = await this.documents.getLines(result.items.map((item) => item.assetId));
    const terms = positiveTerms(query);
    return {
      mode,
      page,
      size,
      hasNextPage: result.hasNextPage,
      ...('nextCursor' in result && result.nextCursor !== undefined
        ? { nextCursor: result.nextCursor && encodeCursor(result.nextCursor) }
        : {}),
      hits: result.items.map((item) => toHit(item, lines, terms)),
      ...(degraded ? { degraded } : {}),
    };
  }
}

function toHit(item: RankedAsset, lines: OcrLineRow[], terms: ReturnType<typeof positiveTerms>): SearchHit {
  const matching = lines
    .filter((line) => line.assetId === item.assetId)
    .map((line) => ({
      lineNo: line.lineNo,
      text: line.text,
      box: line.box,
      boxScore: line.boxScore,
      textScore: line.textScore,
      highlights: highlightRanges(line.text, terms),
    }))
    .filter((line) => line.highlights.length > 0);
  return {
    assetId: item.assetId,
    score: item.score,
    ocr: item.ocrRank !== null && item.ocrScore !== null ? { rank: item.ocrRank, score: item.ocrScore } : null,
    clip:
      item.clipRank !== null && item.clipDistance !== null
        ? { rank: item.clipRank, distance: item.clipDistance }
        : null,
    fileCreatedAt: item.fileCreatedAt,
    originalFileName: item.originalFileName,
    lines: matching,
  };
}
