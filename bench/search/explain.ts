/**
 * --explain: the plans of our slowest query of each kind, as Postgres ran them (EXPLAIN ANALYZE, BUFFERS),
 * for each statement SearchRepository.searchOcr really sends (captured from Kysely's query log): the
 * stages of the candidate search, then the scoring.
 */
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import type { ExtensionDatabase } from '../../src/extension/database/schema';
import { parseQuery } from '../../src/extension/search/query-parser';
import { SearchRepository } from '../../src/extension/search/search.repository';
import type { Segmenter } from '../../src/extension/search/segmenter';
import { PAGE_SIZE } from './engines';
import type { Sample } from './measure';

export async function explainSlowest(
  url: string,
  segmenter: Segmenter,
  userIds: readonly string[],
  samples: Partial<Record<string, Sample[]>>,
): Promise<string> {
  const pool = new Pool({ connectionString: url, max: 1 });
  let captured: CompiledQuery[] = [];
  const db = new Kysely<ExtensionDatabase>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      // The search statement itself, not the transaction around it or its planner settings.
      if (event.level === 'query' && !/^\s*(begin|commit|rollback|select set_config)/i.test(event.query.sql)) {
        captured.push(event.query);
      }
    },
  });
  const repository = new SearchRepository(db, segmenter);
  const out: string[] = ['EXPLAIN (ANALYZE, BUFFERS) of our slowest query per kind'];
  try {
    for (const [kind, list] of Object.entries(samples)) {
      const slowest = [...(list ?? [])].sort((a, b) => b.ms - a.ms)[0];
      if (!slowest) continue;
      captured = [];
      await repository.searchOcr(parseQuery(`ocr:${slowest.query}`), { userIds, page: 1, size: PAGE_SIZE });
      await pool.query('SET jit = off'); // as SearchRepository.planSearch sets it for its statements
      out.push(
        '',
        `-- ${kind}: ${JSON.stringify(slowest.query)} (${slowest.ms.toFixed(1)} ms in the timed run, |R| ${slowest.relevant}, ${captured.length} statements)`,
      );
      for (const [index, query] of captured.entries()) {
        const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${query.sql}`, [
          ...query.parameters,
        ]);
        out.push(`-- statement ${index + 1} of ${captured.length}`, ...rows.map((row) => row['QUERY PLAN']));
      }
    }
  } finally {
    await db.destroy();
  }
  return out.join('\n');
}
