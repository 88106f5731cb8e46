import { createServer, Server } from 'node:net';
import { OcrDocumentRepository } from '../../src/extension/ocr/ocr-document.repository';
import { ZhparserSegmenter } from '../../src/extension/search/segmenter';
import { readJson } from '../inference/helpers';
import { createTestDatabase, seedAsset, seedUser, SeededUser, TestDatabase } from '../support/immich-database';
import { api, eventually, flushRedis, mediaWithPreviews, RunningSidecar, startSidecar } from './support/sidecar';
import { answer, StandIn, startStandIn } from './support/stand-in-inference';

/**
 * When OCR cannot be done: retried with backoff when it may pass (inference down or overloaded), not
 * retried when it never will (the service refuses the image); after the last try the error is stored
 * on the document and shown by the API; text from an earlier success is never lost.
 */

interface OcrBody {
  status: string;
  error: string | null;
  attempts: number;
  text: string;
  lines: unknown[];
}

describe('OCR job failures', () => {
  let database: TestDatabase;
  let media: Awaited<ReturnType<typeof mediaWithPreviews>>;
  let user: SeededUser;
  let refusing: Server;
  let refusingUrl: string;
  let sidecar: RunningSidecar | undefined;
  let standIn: StandIn | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('failures');
    media = await mediaWithPreviews(['f01', 'f02']);
    user = await seedUser(database.db);
    refusing = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    refusingUrl = `http://127.0.0.1:${(refusing.address() as { port: number }).port}`;
  });

  afterEach(async () => {
    await sidecar?.close();
    await standIn?.close();
    sidecar = standIn = undefined;
  });

  afterAll(async () => {
    await database?.drop();
    await media?.remove();
    await new Promise((resolve) => refusing.close(resolve));
  });

  const start = async (inferenceUrl: string) => {
    await flushRedis();
    sidecar = await startSidecar(database, {
      INFERENCE_URL: inferenceUrl,
      IMMICH_MEDIA_LOCATION: media.root,
      JOB_ATTEMPTS: '3',
      JOB_BACKOFF_MS: '100',
    });
    return sidecar;
  };
  const ocrOf = async (assetId: string) =>
    readJson<OcrBody>(await api(sidecar!, user.apiKey).get(`/api/assets/${assetId}/ocr`));
  /** The asset's OCR once its job has failed for good. */
  const failure = (assetId: string) =>
    eventually(async () => {
      const body = await ocrOf(assetId);
      return body.status === 'failed' && body;
    });
  const regenerate = async (assetId: string) =>
    expect((await api(sidecar!, user.apiKey).post(`/api/assets/${assetId}/reprocess`, { ocr: true })).status).toBe(202);

  it('retries while the inference service is down, then records the error on the document', async () => {
    const assetId = await seedAsset(database.db, { ownerId: user.id, previewPath: media.paths.f01 });
    await start(refusingUrl);
    await regenerate(assetId);
    const failed = await failure(assetId);
    expect(failed.attempts).toBe(3);
    expect(failed.error).toMatch(/^inference service (closed the connection|refused the connection)/);
    expect(failed.lines).toEqual([]);
    const status = await readJson<{
      documents: { failed: number };
      failures: Array<{ assetId: string; error: string }>;
    }>(await api(sidecar!, user.apiKey).get('/api/jobs'));
    expect(status.documents.failed).toBeGreaterThanOrEqual(1);
    expect(status.failures).toEqual(
      expect.arrayContaining([expect.objectContaining({ assetId, error: failed.error })]),
    );
  });

  it('keeps the text of an earlier success when a later regenerate fails', async () => {
    const assetId = await seedAsset(database.db, { ownerId: user.id, previewPath: media.paths.f02 });
    await new OcrDocumentRepository(database.db, new ZhparserSegmenter()).replace(assetId, {
      source: 'inference',
      model: 'test',
      attempts: 1,
      lines: [{ text: '火锅店 营业中', boxScore: 0.9, textScore: 0.9, box: [0, 0, 1, 0, 1, 1, 0, 1] }],
    });
    standIn = await startStandIn(answer(503, { error: 'queue full' }));
    await start(standIn.url);
    await regenerate(assetId);
    const failed = await failure(assetId);
    expect(standIn.requests).toBe(3);
    expect(failed.error).toBe('inference service answered 503 for ocr: queue full');
    expect(failed.text).toBe('火锅店 营业中');
    expect(failed.lines).toHaveLength(1);
    const search = await readJson<{ hits: Array<{ assetId: string }> }>(
      await api(sidecar!, user.apiKey).get(`/api/ocr/search?q=${encodeURIComponent('ocr:火锅')}`),
    );
    expect(search.hits.map((hit) => hit.assetId)).toEqual([assetId]);
  });

  it('does not retry what can never work: an image the service refuses', async () => {
    const assetId = await seedAsset(database.db, { ownerId: user.id, previewPath: media.paths.f01 });
    standIn = await startStandIn(answer(422, { error: 'image could not be decoded' }));
    await start(standIn.url);
    await regenerate(assetId);
    const failed = await failure(assetId);
    expect(standIn.requests).toBe(1);
    expect(failed.attempts).toBe(1);
    expect(failed.error).toBe('inference service answered 422 for ocr: image could not be decoded');
  });

  it('refuses a preview path outside IMMICH_MEDIA_LOCATION without reading it', async () => {
    const assetId = await seedAsset(database.db, { ownerId: user.id, previewPath: '/etc/passwd' });
    standIn = await startStandIn(answer(500, {}));
    await start(standIn.url);
    await regenerate(assetId);
    const failed = await failure(assetId);
    expect(standIn.requests).toBe(0);
    expect(failed.error).toMatch(/outside IMMICH_MEDIA_LOCATION/);
    expect(failed.error).not.toContain('/etc/passwd');
  });
});
