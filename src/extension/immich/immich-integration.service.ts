import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { EXTENSION_CONFIG } from '../database/database.tokens';
import { JobQueueRepository } from '../queue/job-queue.repository';
import { JobName } from '../queue/queue.constants';
import { type OcrScope, QueueService } from '../queue/queue.service';
import { parseQuery } from '../search/query-parser';
import { SearchRepository, SearchScope } from '../search/search.repository';
import type { ExtensionConfig } from '../../config/extension.config';

/**
 * Request fields that only page or shape the answer. Any other field set (people, places, dates,
 * camera, albums, ...) filters the search, which our ranking does not do: Immich answers those.
 */
const PRESENTATION_FIELDS = new Set([
  'query',
  'ocr',
  'page',
  'size',
  'language',
  'withExif',
  'withPeople',
  'withStacked',
  'order',
]);

/** True when a search request carries a filter besides the text. */
export function isFiltered(request: object): boolean {
  return Object.entries(request).some(
    ([key, value]) => value !== undefined && value !== null && !PRESENTATION_FIELDS.has(key),
  );
}

/** A CLIP embedding as Immich hands it over: numbers, or the vector's text (`[0.1,...]`). */
export type Embedding = readonly number[] | string;

export interface RankedAssetIds {
  /** Asset ids, best first. */
  assetIds: string[];
  hasNextPage: boolean;
}

/**
 * What the patched Immich server calls, and nothing else: the patches stay one-liners that hand a
 * request over, and every decision is made here, in our code.
 */
@Injectable()
export class ImmichIntegrationService {
  /** @internal Nest builds it; Immich's code only calls its methods (kept out of extension.d.cts). */
  constructor(
    @Inject(EXTENSION_CONFIG) private readonly config: ExtensionConfig,
    private readonly search: SearchRepository,
    private readonly queue: QueueService,
    private readonly jobs: JobQueueRepository,
  ) {}

  /**
   * Immich's smart search (`POST /api/search/smart`) with the `ocr:` prefix: ranked by OCR text alone,
   * before Immich would embed the text (and whether or not CLIP is enabled). Undefined for any other
   * query: Immich goes on as usual.
   */
  async rankOcrQuery(text: string | undefined, scope: SearchScope): Promise<RankedAssetIds | undefined> {
    const query = text ? parseQuery(text) : undefined;
    if (query?.mode !== 'ocr') return undefined;
    return this.ids(this.search.searchOcr(query, this.bounded(scope)));
  }

  /**
   * A plain smart search once Immich has embedded the text: OCR fused with CLIP when SEARCH_MIXED is
   * on. Undefined (Immich's own CLIP ranking) when it is off, or when the request also filters by
   * things our ranking does not know (people, places, dates, ...).
   */
  async rankMixed(
    request: { query?: string },
    embedding: Embedding | (() => Promise<Embedding>) | undefined,
    scope: SearchScope,
  ): Promise<RankedAssetIds | undefined> {
    if (!request.query || !embedding || isFiltered(request) || !this.config.search.mixed) return undefined;
    // A function embeds the text only when the answer is ours (Immich v3's hook runs before Immich embeds).
    const text = typeof embedding === 'function' ? await embedding() : embedding;
    const vector = typeof text === 'string' ? (JSON.parse(text) as number[]) : text;
    return this.ids(
      this.search.searchMixed(parseQuery(request.query), vector, this.bounded(scope), this.config.search),
    );
  }

  /**
   * The OCR field of Immich's metadata search (the "text in photo" filter of its search panel): our
   * index and ranking, whatever the prefix. Undefined when the request filters by more than text.
   */
  async rankOcrText(request: { ocr?: string }, scope: SearchScope): Promise<RankedAssetIds | undefined> {
    if (!request.ocr || isFiltered(request)) return undefined;
    return this.ids(this.search.searchOcr({ ...parseQuery(request.ocr), mode: 'ocr' }, this.bounded(scope)));
  }

  /** `POST /api/assets/jobs` with `refresh-ocr` (access already checked by Immich): read the photos again. */
  async refreshOcr(assetIds: readonly string[]): Promise<void> {
    await this.queue.regenerate(assetIds, { ocr: true, clip: false });
  }

  /**
   * A photo was edited in Immich (v3's editor made, changed or removed its edited preview): read the
   * preview Immich shows now, for text and CLIP, so boxes match it and the photo stays findable.
   */
  async assetEdited(assetId: string): Promise<void> {
    await this.queue.regenerate([assetId], { ocr: true, clip: true });
  }

  /** Immich's own OCR job stored new text for an asset: index it (no second OCR pass). */
  async immichOcrDone(assetId: string): Promise<void> {
    if (this.config.ocr.useImmichOcr) await this.jobs.addAssetJobs(JobName.Ocr, [assetId]);
  }

  /**
   * Our queue's progress for Immich's `GET /api/immich-ai/jobs` (Immich's own Jobs page knows only its
   * queues): every user's counts and recent errors for an admin, the caller's own photos otherwise.
   */
  queueStatus(user: { id: string; isAdmin: boolean }) {
    return this.queue.status(user);
  }

  /**
   * An admin's "queue missing / failed / all" (`POST /api/immich-ai/jobs/ocr`); false while an earlier
   * request is still queueing (its progress is in queueStatus).
   */
  queueOcr(scope: OcrScope): boolean {
    return this.queue.startQueueOcr(scope);
  }

  private bounded(scope: SearchScope): SearchScope {
    return { ...scope, textCandidates: this.config.search.textCandidates };
  }

  private async ids(
    page: Promise<{ items: Array<{ assetId: string }>; hasNextPage: boolean }>,
  ): Promise<RankedAssetIds> {
    const { items, hasNextPage } = await page;
    return { assetIds: items.map((item) => item.assetId), hasNextPage };
  }
}

const OFF_MESSAGE = "immich-ai is off because one of its IMMICH_AI_ settings is invalid; Immich's server log names it";

/**
 * What Immich's code gets when our configuration is invalid: nothing ranked (Immich answers every
 * search itself), no indexing, and our own routes answer 503 saying why. Immich's services still find
 * a provider to inject, so Immich starts and runs as a stock server.
 */
export class ImmichIntegrationOff implements Pick<ImmichIntegrationService, keyof ImmichIntegrationService> {
  rankOcrQuery(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  rankMixed(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  rankOcrText(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  refreshOcr(): Promise<never> {
    return Promise.reject(new ServiceUnavailableException(OFF_MESSAGE));
  }

  assetEdited(): Promise<void> {
    return Promise.resolve();
  }

  immichOcrDone(): Promise<void> {
    return Promise.resolve();
  }

  queueStatus(): Promise<never> {
    return Promise.reject(new ServiceUnavailableException(OFF_MESSAGE));
  }

  queueOcr(): never {
    throw new ServiceUnavailableException(OFF_MESSAGE);
  }
}
