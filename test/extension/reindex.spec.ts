import { migrateToLatest } from '../../src/extension/database/migrator';
import { OcrDocumentRepository } from '../../src/extension/ocr/ocr-document.repository';
import { JiebaSegmenter } from '../../src/extension/search/segmenter';
import { readJson } from '../inference/helpers';
import { createTestDatabase, seedAsset, seedUser, TestDatabase } from '../support/immich-database';
import { api, eventually, flushRedis, RunningSidecar, startSidecar } from './support/sidecar';

/** When the database gains zhparser, text indexed by jieba is re-indexed from what is stored: no photo is read again. */
describe('re-indexing after the segmenter changed', () => {
  let database: TestDatabase;
  let sidecar: RunningSidecar | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('reindex');
  });

  afterAll(async () => {
    await sidecar?.close();
    await database?.drop();
  });

  it('rebuilds every jieba document with zhparser at start, and search goes on finding them', async () => {
    await migrateToLatest(database.db);
    const user = await seedUser(database.db);
    const documents = new OcrDocumentRepository(database.db, new JiebaSegmenter());
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const assetId = await seedAsset(database.db, { ownerId: user.id });
      ids.push(assetId);
      await documents.replace(assetId, {
        source: 'inference',
        model: 'test',
        attempts: 1,
        lines: [{ text: `增值税发票 第${i}张`, boxScore: 1, textScore: 1, box: [0, 0, 1, 0, 1, 1, 0, 1] }],
      });
    }
    await flushRedis();
    sidecar = await startSidecar(database, { SEGMENTER: 'zhparser', INFERENCE_URL: 'http://127.0.0.1:9' });
    await eventually(async () => {
      const rows = await database.db.selectFrom('immich_ai.ocr_document').select('segmenter').execute();
      return rows.length === 3 && rows.every((row) => row.segmenter === 'zhparser');
    });
    const body = await readJson<{ hits: Array<{ assetId: string }> }>(
      await api(sidecar, user.apiKey).get(`/api/ocr/search?q=${encodeURIComponent('ocr:增值税')}`),
    );
    expect(body.hits.map((hit) => hit.assetId).sort()).toEqual([...ids].sort());
  });
});
