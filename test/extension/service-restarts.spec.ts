import { RunningApp, readJson, startApp } from '../inference/helpers';
import { createTestDatabase, seedAsset, seedUser, SeededUser, TestDatabase } from '../support/immich-database';
import {
  copySchema,
  PrivatePostgres,
  PrivateRedis,
  startPrivatePostgres,
  startPrivateRedis,
} from '../support/private-services';
import { api, eventually, mediaWithPreviews, RunningSidecar, startSidecar } from './support/sidecar';
import { forwardTo, StandIn, startStandIn } from './support/stand-in-inference';
import { sql } from 'kysely';
import { createDatabase } from '../../src/extension/database/create-database';

/**
 * Redis and Postgres restarting under a running sidecar (servers of the test's own, really stopped
 * and started): requests in the outage get a quick 503, and work goes on once they are back.
 */

describe('service restarts', () => {
  let inference: RunningApp;
  let media: Awaited<ReturnType<typeof mediaWithPreviews>>;

  beforeAll(async () => {
    inference = await startApp({ ocrWorkers: 0, tasks: ['ocr'] });
    media = await mediaWithPreviews(['f04', 'f07', 'f08']);
  });

  afterAll(async () => {
    await inference?.close();
    await media?.remove();
  });

  const documentStatus = (database: { db: TestDatabase['db'] }, assetId: string) =>
    database.db.selectFrom('immich_ai.ocr_document').select('status').where('assetId', '=', assetId).executeTakeFirst();

  describe('Redis restarted', () => {
    let database: TestDatabase;
    let redis: PrivateRedis;
    let sidecar: RunningSidecar;
    let user: SeededUser;

    beforeAll(async () => {
      database = await createTestDatabase('redis_restart');
      user = await seedUser(database.db);
      redis = await startPrivateRedis();
      sidecar = await startSidecar(database, {
        INFERENCE_URL: inference.url,
        IMMICH_MEDIA_LOCATION: media.root,
        REDIS_PORT: String(redis.port),
        REDIS_DBINDEX: '0',
      });
    });

    afterAll(async () => {
      await redis?.start();
      await sidecar?.close();
      await redis?.remove();
      await database?.drop();
    });

    it('answers 503 quickly while Redis is down, and the queue goes on after it restarts', async () => {
      const [before, during] = [
        await seedAsset(database.db, { ownerId: user.id, previewPath: media.paths.f04 }),
        await seedAsset(database.db, { ownerId: user.id, previewPath: media.paths.f07 }),
      ];
      expect((await api(sidecar, user.apiKey).post(`/api/assets/${before}/reprocess`, {})).status).toBe(202);
      await eventually(async () => (await documentStatus(database, before))?.status === 'done');

      await redis.stop();
      // Redis stays down until after the answer: getting one at all shows the request did not wait for it.
      const refused = await api(sidecar, user.apiKey).post(`/api/assets/${during}/reprocess`, {});
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      const health = await fetch(`${sidecar.url}/api/health`);
      expect(health.status).toBe(503);
      expect(await readJson(health)).toEqual(expect.objectContaining({ database: 'ok', redis: 'unavailable' }));

      await redis.start();
      await eventually(
        async () => (await api(sidecar, user.apiKey).post(`/api/assets/${during}/reprocess`, {})).status === 202,
        30_000,
      );
      await eventually(async () => (await documentStatus(database, during))?.status === 'done', 30_000);
    }, 90_000);
  });

  describe('Postgres restarted', () => {
    let template: TestDatabase;
    let postgres: PrivatePostgres;
    let sidecar: RunningSidecar;
    let user: SeededUser;
    let standIn: StandIn;
    let stopDuringNextRead = false;

    beforeAll(async () => {
      template = await createTestDatabase('pg_restart_src');
      postgres = await startPrivatePostgres();
      const setup = createDatabase(postgres.url('postgres'), { max: 1 });
      await sql`CREATE DATABASE immich`.execute(setup);
      await setup.destroy();
      copySchema(template.url, postgres.url('immich'));
      const database = {
        url: postgres.url('immich'),
        db: createDatabase(postgres.url('immich'), { max: 2 }),
      } as TestDatabase;
      user = await seedUser(database.db);
      await database.db.destroy();
      // When asked, Postgres is stopped while the photo is being read: the job's write then fails.
      standIn = await startStandIn(async (request, response, body) => {
        if (stopDuringNextRead) {
          stopDuringNextRead = false;
          postgres.stop();
        }
        await forwardTo(() => inference.url)(request, response, body);
      });
      sidecar = await startSidecar(database, {
        INFERENCE_URL: standIn.url,
        IMMICH_MEDIA_LOCATION: media.root,
        JOB_ATTEMPTS: '20',
        JOB_BACKOFF_MS: '300',
      });
    }, 60_000);

    afterAll(async () => {
      await sidecar?.close();
      await standIn?.close();
      postgres?.remove();
      await template?.drop();
    });

    it('answers 503 while Postgres is down, recovers when it is back, and a job caught in the outage completes', async () => {
      const db = createDatabase(postgres.url('immich'), { max: 1 });
      const assetId = await seedAsset(db, { ownerId: user.id, previewPath: media.paths.f08 });
      await db.destroy();
      const search = () => api(sidecar, user.apiKey).get(`/api/ocr/search?q=${encodeURIComponent('ocr:西湖')}`);
      expect((await search()).status).toBe(200);

      stopDuringNextRead = true;
      expect((await api(sidecar, user.apiKey).post(`/api/assets/${assetId}/reprocess`, {})).status).toBe(202);
      await eventually(async () => standIn.requests === 1);
      expect((await search()).status).toBe(503);
      expect((await fetch(`${sidecar.url}/api/health`)).status).toBe(503);

      postgres.start();
      await eventually(async () => (await search()).status === 200, 30_000);
      const found = await eventually(async () => {
        const body = await readJson<{ hits: Array<{ assetId: string }> }>(await search());
        return body.hits.length > 0 && body.hits;
      }, 30_000);
      expect(found.map((hit) => hit.assetId)).toEqual([assetId]);
    }, 90_000);
  });
});
