import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { EXTENSION_CONFIG } from '../database/database.tokens';
import { JobQueueRepository } from '../queue/job-queue.repository';
import { JobName } from '../queue/queue.constants';
import { type OcrScope, QueueService } from '../queue/queue.service';
import { parseQuery } from '../search/query-parser';
import { AssetFilter, SearchRepository, SearchScope } from '../search/search.repository';
import type { ExtensionConfig } from '../../config/extension.config';

/**
 * Request fields that only page or shape the answer. Any other field set (people, albums, dates,
 * favourites, visibility, type, camera, place, tags, ...) filters the search: then only the assets
 * Immich's own query of that request allows are ranked (ImmichSearchScope.assets). A null counts as
 * set: Immich reads `city: null` as "no city".
 */
const PRESENTATION_FIELDS = new Set(['query', 'ocr', 'page', 'size', 'language', 'withExif', 'withPeople', 'order']);

/** True when a search request carries a filter besides the text. */
export function isFiltered(request: object): boolean {
  return Object.entries(request).some(([key, value]) => value !== undefined && !PRESENTATION_FIELDS.has(key));
}

/** What Immich's search would search for this request, as the patched server hands it over. */
export interface ImmichSearchScope {
  /**
   * Whose assets: the caller and the partners who share their timeline (the caller alone in the
   * Locked Folder), as Immich's search has them; undefined where Immich scopes by the filter alone
   * (its metadata search in albums, after its own access check).
   */
  userIds: readonly string[] | undefined;
  page: number;
  size: number;
  /**
   * Immich's own query of the assets this request's filters allow (its search builder with the
   * request's options, its visibility default and trash rule), selecting `asset.id` and
   * `asset.ownerId`; used only when the request filters (isFiltered).
   */
  assets: AssetFilter;
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
  /** Our module is on (an invalid IMMICH_AI_ value provides ImmichIntegrationOff instead). */
  readonly enabled: boolean = true;

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
  async rankOcrQuery(request: { query?: string }, scope: ImmichSearchScope): Promise<RankedAssetIds | undefined> {
    const query = request.query ? parseQuery(request.query) : undefined;
    if (query?.mode !== 'ocr') return undefined;
    const bounded = await this.bounded(request, scope);
    return bounded && this.ids(this.search.searchOcr(query, bounded));
  }

  /**
   * A plain smart search once Immich has embedded the text: OCR fused with CLIP when SEARCH_MIXED is
   * on, both among the assets the request's filters allow. Undefined (Immich's own CLIP ranking) when
   * it is off.
   */
  async rankMixed(
    request: { query?: string },
    embedding: Embedding | (() => Promise<Embedding>) | undefined,
    scope: ImmichSearchScope,
  ): Promise<RankedAssetIds | undefined> {
    if (!request.query || !embedding || !this.config.search.mixed) return undefined;
    const bounded = await this.bounded(request, scope);
    if (!bounded) return undefined;
    // A function embeds the text only when the answer is ours (Immich v3's hook runs before Immich embeds).
    const text = typeof embedding === 'function' ? await embedding() : embedding;
    const vector = typeof text === 'string' ? (JSON.parse(text) as number[]) : text;
    return this.ids(this.search.searchMixed(parseQuery(request.query), vector, bounded, this.config.search));
  }

  /**
   * The OCR field of Immich's metadata search (the "text in photo" filter of its search panel): our
   * index and ranking, whatever the prefix, among the assets the request's other filters allow.
   */
  async rankOcrText(request: { ocr?: string }, scope: ImmichSearchScope): Promise<RankedAssetIds | undefined> {
    if (!request.ocr) return undefined;
    const bounded = await this.bounded(request, scope);
    return bounded && this.ids(this.search.searchOcr({ ...parseQuery(request.ocr), mode: 'ocr' }, bounded));
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

  /**
   * Our scope for Immich's: a filtered request searches only the assets Immich's query of it allows
   * (their owners, where Immich names none). Undefined hands the request back to Immich.
   */
  private async bounded(request: object, { userIds, page, size, assets }: ImmichSearchScope) {
    const filtered = isFiltered(request);
    const owners = userIds ?? (filtered ? await this.search.ownersOf(assets) : undefined);
    if (!owners) return undefined;
    const scope: SearchScope = { userIds: owners, page, size, textCandidates: this.config.search.textCandidates };
    return filtered ? { ...scope, assets } : scope;
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
  readonly enabled = false;

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
