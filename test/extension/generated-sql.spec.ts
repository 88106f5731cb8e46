import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSqlFiles, QUERIES_FOLDER } from '../../src/extension/sql/generate-sql-files';

/** The checked-in SQL (src/extension/queries) is what the repositories really run. */
describe('generated SQL', () => {
  it('is up to date: run `npm run sql:generate` after changing a query', async () => {
    const generated = await generateSqlFiles();
    const checkedIn = readdirSync(QUERIES_FOLDER).filter((file) => file.endsWith('.sql'));
    expect(checkedIn.sort()).toEqual([...generated.keys()].sort());
    for (const [file, content] of generated)
      expect([file, readFileSync(join(QUERIES_FOLDER, file), 'utf8')]).toEqual([file, content]);
  });

  it('covers every repository method that runs SQL', async () => {
    const generated = [...(await generateSqlFiles()).values()].join('\n');
    for (const name of [
      'searchOcr',
      'searchMixed',
      'replace',
      'recordFailure',
      'getLines',
      'pageForOcr',
      'getApiKey',
      'getSession',
      'upsert',
    ]) {
      expect(generated).toMatch(new RegExp(`-- \\w+\\.${name}\\b`));
    }
  });
});
