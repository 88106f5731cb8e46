import type { ColumnType, Generated } from 'kysely';

/**
 * The tables the extension reads and writes, typed for Kysely. Immich's own tables (public schema, as
 * Immich v2.4.1's migrations create them) are listed with only the columns we use; ours live in the
 * `immich_ai` schema (see migrations/).
 */

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export type OcrDocumentStatus = 'done' | 'failed';
/** Where a document's text came from: our inference service, or Immich's own OCR job (asset_ocr). */
export type OcrSource = 'inference' | 'immich';

export interface OcrDocumentTable {
  assetId: string;
  status: OcrDocumentStatus;
  source: OcrSource;
  model: string | null;
  /** The lines' text, one per line, in reading order. */
  text: Generated<string>;
  lineCount: Generated<number>;
  /** Words (weight A) and per-character terms (weight D); see src/extension/search/text-terms.ts. */
  searchVector: Generated<string>;
  /** Letter/digit terms of 3+ characters, space separated, for pg_trgm substring search. */
  searchLatin: Generated<string>;
  /** The segmenter that built searchVector; a different one at start re-indexes from the stored lines. */
  segmenter: string;
  /** Last failure's message; null after a success. */
  error: string | null;
  /** Tries the last job made (1 = first try succeeded). */
  attempts: number;
  createdAt: Generated<Timestamp>;
  updatedAt: Generated<Timestamp>;
  /** The asset's owner and date, copied when the text is written (see migrations/0002). */
  ownerId: ColumnType<string | null, string | null | undefined, string | null>;
  fileCreatedAt: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** When the text was last replaced successfully; null while a document only records a failure. */
  processedAt: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** An OCR box as Immich stores one: corners clockwise from top-left, each normalised to 0..1 of the preview. */
export interface BoxColumns {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  x3: number;
  y3: number;
  x4: number;
  y4: number;
  boxScore: number;
  textScore: number;
}

export interface OcrLineTable extends BoxColumns {
  id: Generated<string>;
  assetId: string;
  lineNo: number;
  text: string;
}

export interface AssetTable {
  id: string;
  ownerId: string;
  type: string;
  originalFileName: string;
  fileCreatedAt: Timestamp;
  localDateTime: Timestamp;
  deletedAt: Timestamp | null;
  visibility: string;
  createdAt: Timestamp;
}

export interface AssetFileTable {
  id: string;
  assetId: string;
  type: string;
  path: string;
  updatedAt: Timestamp;
  /** A UUIDv7 Immich renews with every change of the row (indexed): changes in time order. */
  updateId: string;
}

export interface AssetJobStatusTable {
  assetId: string;
  ocrAt: Timestamp | null;
}

/** Immich's own OCR lines (v2.2+). */
export interface AssetOcrTable extends BoxColumns {
  id: string;
  assetId: string;
  text: string;
}

export interface SmartSearchTable {
  assetId: string;
  embedding: string;
}

export interface UserTable {
  id: string;
  name: string;
  email: string;
  isAdmin: boolean;
  deletedAt: Timestamp | null;
}

export interface ApiKeyTable {
  id: string;
  userId: string;
  key: string;
  permissions: string[];
}

export interface SessionTable {
  id: string;
  userId: string;
  token: string;
  expiresAt: Timestamp | null;
  /** Until when the PIN entered in this session unlocks the Locked Folder (Immich v1.133+). */
  pinExpiresAt: Timestamp | null;
}

export interface ExtensionDatabase {
  asset: AssetTable;
  asset_file: AssetFileTable;
  asset_job_status: AssetJobStatusTable;
  asset_ocr: AssetOcrTable;
  smart_search: SmartSearchTable;
  user: UserTable;
  api_key: ApiKeyTable;
  session: SessionTable;
  'immich_ai.ocr_document': OcrDocumentTable;
  'immich_ai.ocr_line': OcrLineTable;
}

/** Assets Immich shows in its timeline and search: not the hidden half of a live photo, not locked away. */
export const SEARCHABLE_VISIBILITY = ['timeline', 'archive'] as const;
