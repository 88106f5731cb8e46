/** The extension's own BullMQ queue, beside Immich's (which live under the `immich_bull` prefix). */
export const QUEUE_NAME = 'immich-ai';
export const QUEUE_PREFIX = 'immich_ai_bull';

export enum JobName {
  /** Read an asset's text: Immich's own OCR when it ran, else the inference service. */
  Ocr = 'ocr',
  /** Embed an asset's preview with CLIP and store it in Immich's smart_search. */
  Clip = 'clip',
  /** Rebuild search vectors after the segmenter changed (the database gained or lost zhparser). */
  Reindex = 'reindex',
}

export interface AssetJobData {
  assetId: string;
  /** Read the photo again even when Immich's own OCR already has text for it (a user's "regenerate"). */
  force?: boolean;
}

export type JobStatus = 'success' | 'skipped';

/** Which try this is; the last one records its error where the user sees it. */
export interface JobAttempt {
  number: number;
  last: boolean;
}

/** One job per asset and kind: a second request while one waits merges into it. */
export const assetJobId = (name: JobName, assetId: string): string => `${name}-${assetId}`;
