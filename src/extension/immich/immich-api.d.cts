// The immich-ai extension as Immich's server sees it (types for server/immich-ai/extension.cjs,
// written there by `immich-ai patch`). Generated from immich-all-in-one's src/extension/immich/.
import type { DynamicModule } from '@nestjs/common';

export interface SearchScope {
  userIds: readonly string[];
  page: number;
  size: number;
}

export interface RankedAssetIds {
  /** Asset ids, best first. */
  assetIds: string[];
  hasNextPage: boolean;
}

export interface ImmichAiModuleOptions {
  /** Immich's worker: jobs run in `microservices` only; `api` queues them. */
  worker: string;
  /** Immich's Kysely instance token (nestjs-kysely's KYSELY_MODULE_CONNECTION_TOKEN()). */
  kyselyToken: string;
}

export declare class ImmichAiModule {
  static forImmich(options: ImmichAiModuleOptions): DynamicModule;
}

export declare class ImmichIntegrationService {
  rankOcrQuery(text: string | undefined, scope: SearchScope): Promise<RankedAssetIds | undefined>;
  /** Undefined unless SEARCH_MIXED is on and the request filters by nothing but its text. */
  rankMixed(
    request: object,
    embedding: readonly number[] | string | (() => Promise<readonly number[] | string>) | undefined,
    scope: SearchScope,
  ): Promise<RankedAssetIds | undefined>;
  /** Undefined unless `ocr` is set and the request filters by nothing else. */
  rankOcrText(request: object, scope: SearchScope): Promise<RankedAssetIds | undefined>;
  refreshOcr(assetIds: readonly string[]): Promise<void>;
  immichOcrDone(assetId: string): Promise<void>;
  assetEdited(assetId: string): Promise<void>;
}
