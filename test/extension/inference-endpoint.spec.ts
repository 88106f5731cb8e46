import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { loadExtensionConfig } from '../../src/config/extension.config';
import { ImmichMachineLearningEndpoint } from '../../src/extension/inference/inference-endpoint';
import { InferenceRepository } from '../../src/extension/inference/inference.repository';
import { createTestDatabase, TestDatabase } from '../support/immich-database';
import { answer, startStandIn, StandIn } from './support/stand-in-inference';

/**
 * Inside Immich, OCR and CLIP go where Immich sends its own machine-learning requests: the URLs of
 * Immich's config file when it has one, else of its admin settings, else its default; every URL of
 * the list, the next one when one cannot be reached.
 */
describe("Immich's machine-learning URLs", () => {
  let database: TestDatabase;
  let standIn: StandIn;
  let refusing: Server;
  let refusingUrl: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    database = await createTestDatabase('ml-urls');
    standIn = await startStandIn(answer(200, { clip: JSON.stringify([0.6, 0.8]) }));
    refusing = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    // A port nothing listens on: connection refused.
    refusingUrl = `http://127.0.0.1:${(refusing.address() as { port: number }).port}`;
    await new Promise((resolve) => refusing.close(resolve));
  });

  afterEach(() => {
    process.env = { ...saved };
  });

  afterAll(async () => {
    await standIn?.close();
    await database?.drop();
  });

  const endpoint = () => new ImmichMachineLearningEndpoint(loadExtensionConfig({}), database.db);
  const saveSettings = (urls: string[]) =>
    sql`
      INSERT INTO system_metadata (key, value) VALUES ('system-config', ${JSON.stringify({ machineLearning: { urls } })}::jsonb)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`.execute(database.db);

  it("reads Immich's default, then the admin settings, then the config file, which wins", async () => {
    process.env.IMMICH_MACHINE_LEARNING_URL = 'http://ml-from-env:3003/';
    expect(await endpoint().urls()).toEqual(['http://ml-from-env:3003']);
    await saveSettings(['http://gateway-a:8080', 'http://gateway-b:8080/']);
    expect(await endpoint().urls()).toEqual(['http://gateway-a:8080', 'http://gateway-b:8080']);
    const file = join(mkdtempSync(join(tmpdir(), 'immich-config-')), 'immich.yaml');
    writeFileSync(file, 'machineLearning:\n  urls:\n    - http://gateway-from-file:8080\n');
    process.env.IMMICH_CONFIG_FILE = file;
    expect(await endpoint().urls()).toEqual(['http://gateway-from-file:8080']);
  });

  it('passes to the next URL when one cannot be reached, as Immich does', async () => {
    await saveSettings([refusingUrl, standIn.url]);
    const inference = new InferenceRepository(loadExtensionConfig({}), endpoint());
    const before = standIn.requests;
    expect(await inference.encodeText('红色')).toEqual([0.6, 0.8]);
    expect(standIn.requests - before).toBe(1);
  });
});
