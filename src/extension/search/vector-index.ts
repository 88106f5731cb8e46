/**
 * Immich's CLIP index (`clip_index` on smart_search) is built by whichever vector extension its
 * database runs, and each is tuned differently for the kNN half of mixed ranking. Immich itself
 * (server/src/repositories/database.repository.ts and search.repository.ts, v2.4.1 and v3.1.0):
 *
 * - VectorChord (`vchordrq`, the default: Immich's own Postgres image): searchSmart sets
 *   `vchordrq.probes` for its transaction to ceil(lists / 8), `lists` read from the index's own
 *   options when the server starts (1 below 128,000 embeddings). The probes must match the index's
 *   lists (one number per level; none for an index built without lists).
 * - pgvector (`hnsw`): Immich sets nothing. We raise `hnsw.ef_search` to the candidates we rank, since
 *   HNSW stops at ef_search rows before the owner filter, and (0.8+) let it scan on past filtered rows.
 * - pgvecto.rs (`vectors`, Immich v2 only): nothing is set, as in Immich.
 *
 * Which one is read off the index itself, so a database with both pgvector and VectorChord installed
 * (VectorChord requires pgvector) is tuned for the index that really serves the query.
 */

export type VectorIndex =
  | { extension: 'vectorchord'; probes: string }
  | { extension: 'pgvector'; iterativeScan: boolean }
  | { extension: 'pgvecto.rs' }
  | { extension: 'none' };

/** What Immich names its CLIP index. */
export const CLIP_INDEX = 'clip_index';

/** Immich's probes for a vchordrq index of `lists` lists (DatabaseRepository.targetProbeCount). */
const probesFor = (lists: number): number => Math.ceil(lists / 8);

/**
 * The index from its definition (pg_indexes.indexdef; null when there is none) and pgvector's
 * installed version.
 */
export function describeVectorIndex(definition: string | null, pgvectorVersion: string | null): VectorIndex {
  const using = /\busing\s+(\w+)/i.exec(definition ?? '')?.[1]?.toLowerCase();
  switch (using) {
    case 'vchordrq': {
      // Immich reads the first number of `lists = [...]`; an index without lists takes no probes.
      const lists = /lists\s*=\s*\[([^\]]*)\]/.exec(definition!)?.[1];
      if (lists !== undefined && lists.trim() === '') return { extension: 'vectorchord', probes: '' };
      const first = Number(/\d+/.exec(lists ?? '')?.[0] ?? 1);
      return { extension: 'vectorchord', probes: String(probesFor(first)) };
    }
    case 'hnsw':
      return { extension: 'pgvector', iterativeScan: versionAtLeast(pgvectorVersion, [0, 8]) };
    case 'vectors':
      return { extension: 'pgvecto.rs' };
    default:
      return { extension: 'none' };
  }
}

/** The settings a kNN search of `candidates` rows takes on this index, for its transaction only. */
export function vectorScanSettings(index: VectorIndex, candidates: number): Array<[string, string]> {
  switch (index.extension) {
    case 'vectorchord':
      return [['vchordrq.probes', index.probes]];
    case 'pgvector':
      return [
        ['hnsw.ef_search', String(Math.min(Math.max(candidates, 40), 1000))],
        ...(index.iterativeScan ? [['hnsw.iterative_scan', 'relaxed_order'] as [string, string]] : []),
      ];
    default:
      return [];
  }
}

function versionAtLeast(version: string | null, [major, minor]: [number, number]): boolean {
  if (!version) return false;
  const [a, b] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}
