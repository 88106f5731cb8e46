import { Kysely, sql } from 'kysely';
import { type ImmichMlUrlSource, immichMlUrls } from '../shared/immich-ml-urls';

/**
 * The machine-learning settings a running Immich v2.4.1 really uses: what an admin saved (Immich keeps
 * only the changed keys in system_metadata 'system-config'), else Immich's environment, else its
 * defaults (server/src/config.ts). The doctor compares them with what our services need.
 */
export interface ImmichMlSettings {
  enabled: boolean;
  url: string;
  /** Where `url` came from, for the report. */
  urlSource: ImmichMlUrlSource;
  clip: { enabled: boolean; modelName: string };
  ocr: { enabled: boolean };
  /** The vector size of smart_search.embedding: what Immich's CLIP model gives, resized by Immich on a model change. */
  smartSearchDimensions?: number;
}

/** Immich's own variables the doctor reads, as Immich's server does. */
export const IMMICH_ENV_VARIABLES = ['IMMICH_MACHINE_LEARNING_URL', 'IMMICH_MACHINE_LEARNING_ENABLED'];

interface SavedMachineLearning {
  enabled?: boolean;
  urls?: unknown;
  clip?: { enabled?: boolean; modelName?: string };
  ocr?: { enabled?: boolean };
}

export async function readImmichMlSettings<DB>(
  db: Kysely<DB>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ImmichMlSettings> {
  const { rows } = await sql<{ ml: SavedMachineLearning | null }>`
    SELECT value -> 'machineLearning' AS ml FROM system_metadata WHERE key = 'system-config'`.execute(db);
  const saved = rows[0]?.ml ?? {};
  // pgvector keeps a vector column's dimension count as its type modifier.
  const { rows: columns } = await sql<{ dimensions: number }>`
    SELECT atttypmod AS dimensions FROM pg_attribute
    WHERE attrelid = to_regclass('public.smart_search') AND attname = 'embedding'`.execute(db);
  return { ...mlSettings(saved, env), smartSearchDimensions: columns[0]?.dimensions };
}

/** Without Immich's database: its environment and defaults only. */
export function mlSettings(saved: SavedMachineLearning = {}, env: NodeJS.ProcessEnv = process.env): ImmichMlSettings {
  const { urls, source } = immichMlUrls(saved.urls, env);
  return {
    enabled: saved.enabled ?? env.IMMICH_MACHINE_LEARNING_ENABLED !== 'false',
    url: urls[0],
    urlSource: source,
    clip: { enabled: saved.clip?.enabled ?? true, modelName: saved.clip?.modelName ?? 'ViT-B-32__openai' },
    ocr: { enabled: saved.ocr?.enabled ?? true },
  };
}
