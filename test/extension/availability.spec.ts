import { Agent, get as httpGet } from 'node:http';
import { Client } from 'pg';
import { OcrDocumentRepository } from '../../src/extension/ocr/ocr-document.repository';
import { ZhparserSegmenter } from '../../src/extension/search/segmenter';
import { createTestDatabase, seedAsset, seedUser, SeededUser, TestDatabase } from '../support/immich-database';
import { rawRequest, type RawExchange } from '../support/raw-http';
import { startStallingProxy, StallingProxy } from '../support/stalling-proxy';
import { api, eventually, flushRedis, mediaWithPreviews, RunningSidecar, startSidecar } from './support/sidecar';

/**
 * The sidecar under a sick database and hostile clients: a database that stops answering, a pool
 * filled by one user, connection floods, slow headers and bodies that never come. Every request gets
 * an answer with the right status, and the service recovers without a restart.
 */

const line = { text: '发票 invoice', boxScore: 0.9, textScore: 0.95, box: [0, 0, 1, 0, 1, 1, 0, 1] };
const search = (sidecar: RunningSidecar, key: string) =>
  api(sidecar, key).get(`/api/ocr/search?q=${encodeURIComponent('ocr:发票')}`);

describe('a database that stops answering', () => {
  let database: TestDatabase;
  let proxy: StallingProxy;
  let sidecar: RunningSidecar;
  let user: SeededUser;

  beforeAll(async () => {
    database = await createTestDatabase('stall');
    const url = new URL(database.url);
    proxy = await startStallingProxy({ host: url.hostname, port: Number(url.port) });
    url.port = String(proxy.port);
    await flushRedis();
    sidecar = await startSidecar(database, {
      DB_URL: url.toString(),
      DB_QUERY_TIMEOUT_MS: '1000',
      REQUEST_TIMEOUT_MS: '3000',
      JOB_WORKER: 'false',
    });
    user = await seedUser(database.db);
    const assetId = await seedAsset(database.db, { ownerId: user.id, previewPath: '/data/x.jpeg' });
    await new OcrDocumentRepository(database.db, new ZhparserSegmenter()).replace(assetId, {
      source: 'inference',
      model: 'test',
      attempts: 1,
      lines: [line],
    });
  });

  afterAll(async () => {
    await sidecar?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('answers 503 with Retry-After while it is silent, and recovers by itself, stall after stall', async () => {
    for (let stall = 1; stall <= 3; stall++) {
      await eventually(async () => (await search(sidecar, user.apiKey)).status === 200, 30_000, 200);
      proxy.stall();
      // The database stays silent until every answer is in: an answer at all is one that did not wait for it.
      const answers = await Promise.all([
        ...Array.from({ length: 12 }, () => search(sidecar, user.apiKey)),
        fetch(`${sidecar.url}/api/health`),
      ]);
      expect(answers.map((answer) => [stall, answer.status, answer.headers.get('retry-after')])).toEqual(
        answers.map(() => [stall, 503, '5']),
      );
      for (const answer of answers) expect(await answer.text()).not.toMatch(/127\.0\.0\.1|postgres|timeout exceeded/i);
      proxy.recover();
    }
    // Recovered without a restart: the pool holds no dead connection, many requests at once all succeed.
    await eventually(async () => (await search(sidecar, user.apiKey)).status === 200, 30_000, 200);
    const after = await Promise.all(Array.from({ length: 20 }, () => search(sidecar, user.apiKey)));
    expect(after.map((answer) => answer.status)).toEqual(after.map(() => 200));
    expect((await fetch(`${sidecar.url}/api/health`)).status).toBe(200);
  });
});

describe('a pool filled by slow queries', () => {
  let database: TestDatabase;
  let sidecar: RunningSidecar;
  let media: Awaited<ReturnType<typeof mediaWithPreviews>>;
  let locker: Client;
  const users: Record<string, SeededUser> = {};
  let photo: string;

  beforeAll(async () => {
    database = await createTestDatabase('pool');
    media = await mediaWithPreviews(['f01']);
    for (const name of ['alice', 'bob', 'carol', 'dave', 'eve']) users[name] = await seedUser(database.db, { name });
    photo = await seedAsset(database.db, { ownerId: users.alice.id, previewPath: media.paths.f01 });
    await flushRedis();
    sidecar = await startSidecar(database, {
      IMMICH_MEDIA_LOCATION: media.root,
      DB_QUERY_TIMEOUT_MS: '60000',
      REQUEST_TIMEOUT_MS: '60000',
      JOB_WORKER: 'false',
    });
    locker = new Client({ connectionString: database.url });
    await locker.connect();
  });

  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    await sidecar?.close();
    await database?.drop();
    await media?.remove();
  });

  /** Our pool's connections waiting on the lock (the locker's transaction sees fresh statistics each time). */
  const blockedOnLock = async () => {
    await locker.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await locker.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity
       WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock' AND application_name = 'immich-ai'`,
    );
    return Number(rows[0].n);
  };

  it("keeps one user's flood of searches from locking everyone else out, and answers a full pool with 503", async () => {
    // Every search now waits on this lock, holding its connection.
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE immich_ai.ocr_document IN ACCESS EXCLUSIVE MODE');
    const bobs = Array.from({ length: 12 }, () => search(sidecar, users.bob.apiKey));
    await eventually(async () => (await blockedOnLock()) === 4);

    // Bob holds his fair share of the pool and queues the rest: Alice signs in and gets her photo.
    const preview = await api(sidecar, users.alice.apiKey).get(`/api/assets/${photo}/preview`);
    expect(preview.status).toBe(200);
    expect((await api(sidecar, 'wrong-key').get(`/api/assets/${photo}/preview`)).status).toBe(401);

    // Two more heavy users fill the pool (10 connections): a request that finds no connection is a 503.
    const others = Array.from({ length: 8 }, (_, i) => search(sidecar, (i < 4 ? users.carol : users.dave).apiKey));
    await eventually(async () => (await blockedOnLock()) === 10);
    const refused = await api(sidecar, users.eve.apiKey).get(`/api/assets/${photo}/ocr`);
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([503, '5']);
    expect(((await refused.json()) as { message: string }).message).toMatch(/unavailable, try again/);

    await locker.query('COMMIT');
    const statuses = (await Promise.all([...bobs, ...others])).map((answer) => answer.status);
    expect(statuses.slice(0, 12)).toEqual(Array.from({ length: 12 }, () => 200));
    expect(statuses.every((status) => status === 200 || status === 503)).toBe(true);
    expect((await search(sidecar, users.eve.apiKey)).status).toBe(200);
  });
});

describe('hostile connections', () => {
  let database: TestDatabase;
  let sidecar: RunningSidecar;
  let user: SeededUser;

  beforeAll(async () => {
    database = await createTestDatabase('flood');
    user = await seedUser(database.db);
    await flushRedis();
    sidecar = await startSidecar(database, {
      JOB_WORKER: 'false',
      MAX_CONNECTIONS: '64',
      MAX_CONNECTIONS_PER_CLIENT: '16',
      HEADERS_TIMEOUT_MS: '2000',
      UPLOAD_TIMEOUT_MS: '3000',
    });
  });

  afterAll(async () => {
    await sidecar?.close();
    await database?.drop();
  });

  const silent = (localAddress: string, timeoutMs = 20_000) =>
    rawRequest(sidecar.url, {
      head: 'GET /api/health HTTP/1.1\r\nHost: x\r\n',
      endHead: false,
      localAddress,
      timeoutMs,
    });
  const health = () =>
    rawRequest(sidecar.url, { head: 'GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close', timeoutMs: 20_000 });

  /** A JSON body that declares `length` bytes and sends two, then a space every half second for 30 s. */
  const trickledJson = (length: number) =>
    rawRequest(sidecar.url, {
      head:
        `POST /api/assets/reprocess HTTP/1.1\r\nHost: x\r\nx-api-key: ${user.apiKey}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${length}`,
      body: ['{"', ...Array.from({ length: 60 }, () => ' ')],
      delayMs: 500,
      timeoutMs: 40_000,
    });

  it('lets one address hold MAX_CONNECTIONS_PER_CLIENT connections and closes the rest as they open', async () => {
    const held = await Promise.all(Array.from({ length: 40 }, () => silent('127.0.0.2')));
    const closedAtOnce = held.filter((exchange) => exchange.status === undefined && exchange.closedByServer);
    const timedOut = held.filter((exchange) => exchange.status === 408);
    expect([closedAtOnce.length, timedOut.length]).toEqual([24, 16]);
  });

  it('answers health checks and signed-in users throughout a flood of held connections from many addresses', async () => {
    // One keep-alive connection, reused for every search: once signed in, it is a user's connection.
    const signedIn = new Agent({ keepAlive: true, maxSockets: 1 });
    const searchAs = () =>
      new Promise<{ status: number }>((resolve, reject) => {
        const request = httpGet(
          `${sidecar.url}/api/ocr/search?q=${encodeURIComponent('ocr:x')}`,
          { headers: { 'x-api-key': user.apiKey }, agent: signedIn },
          (response) => response.resume().on('end', () => resolve({ status: response.statusCode ?? 0 })),
        );
        request.on('error', reject);
      });
    expect((await searchAs()).status).toBe(200); // this connection is now a signed-in user's

    let flooding = true;
    const attacker = async (address: string) => {
      const sockets = new Set<Promise<RawExchange>>();
      while (flooding) {
        while (flooding && sockets.size < 16) {
          const socket = silent(address, 30_000).finally(() => sockets.delete(socket));
          sockets.add(socket);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await Promise.all(sockets);
    };
    // Ten hosts, sixteen held sockets each: 160 against room for 64.
    const attackers = Array.from({ length: 10 }, (_, i) => attacker(`127.0.0.${i + 10}`));
    const answers: Array<[string, number | undefined]> = [];
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      answers.push(['health', (await health()).status]);
      answers.push(['search', (await searchAs()).status]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    flooding = false;
    expect(answers.length).toBeGreaterThanOrEqual(4);
    expect(answers).toEqual(answers.map(([what]) => [what, 200]));
    signedIn.destroy();
    await Promise.race([Promise.all(attackers), new Promise((resolve) => setTimeout(resolve, 100))]);
  });

  it('closes a connection whose headers trickle in at the header deadline, long before they would end', async () => {
    const answer = await rawRequest(sidecar.url, {
      head: 'GET /api/health HTTP/1.1\r\nHost: x\r\n',
      endHead: false,
      body: Array.from({ length: 60 }, (_, i) => `X-Slow-${i}: y\r\n`),
      delayMs: 500,
      timeoutMs: 40_000,
    });
    expect(answer.status).toBe(408);
    expect(answer.closedByServer).toBe(true);
    expect(answer.sentBeforeAnswer).toBeLessThan(60 * 12);
  });

  it('answers a body declared too large from its header and closes, even if two bytes are all that come', async () => {
    const answer = await trickledJson(1_000_000);
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
    expect(answer.closedByServer).toBe(true);
    expect(answer.sent).toBeLessThan(10);
  });

  it('cuts a small body that stops arriving at UPLOAD_TIMEOUT_MS', async () => {
    const answer = await trickledJson(50_000);
    expect(answer.status).toBe(408);
    expect(answer.closedByServer).toBe(true);
    expect(answer.sent).toBeLessThan(30);
  });
});
