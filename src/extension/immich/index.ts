/**
 * What the patched Immich server imports (bundled into server/immich-ai/extension.cjs by
 * `npm run build`; its types, extension.d.cts beside it, are generated from this file).
 */
export { ImmichAiModule } from './immich-ai.module';
export type { ImmichAiModuleOptions } from './immich-ai.module';
export { ImmichIntegrationService } from './immich-integration.service';
export type { ImmichSearchScope, RankedAssetIds } from './immich-integration.service';
export type { AssetFilter } from '../search/search.repository';
