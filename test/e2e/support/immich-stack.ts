import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { createDatabase } from '../../../src/extension/database/create-database';
import type { ExtensionDatabase } from '../../../src/extension/database/schema';
import { eventually, flushRedis, testRedisDb } from '../../extension/support/sidecar';
import { ocrFixture } from '../../support/fixtures';
import { dbUrl, dropDatabase } from '../../support/immich-database';
import { ImmichRelease, immichBuild } from '../../support/immich-release';
import { ImmichClient, ImmichServer, startImmich } from '../../support/immich-server';
import { MlStack, startMlStack } from './ml-stack';

/**
 * A real Immich with photos in it, as the end-to-end suites need it: our ML stack as its
 * machine-learning URL, a fresh database, an admin signed up, the fixture photos uploaded through
 * Immich's API, and every Immich queue idle again.
 */

export const ADMIN = { email: 'admin@example.com', password: 'admin-password' };

export interface ImmichStack {
  ml: MlStack;
  immich: ImmichServer;
  admin: ImmichClient;
  /** fixture name -> asset id */
  assets: Record<string, string>;
  databaseUrl: string;
  /** Our view of Immich's database, for what only the database shows (rows replaced, rows removed). */
  db: Kysely<ExtensionDatabase>;
  stop(): Promise<void>;
}

export async function startImmichStack({
  version = '2.4.1',
  label,
  photos,
  patched = false,
  web = false,
}: {
  /** The Immich release (each has its own cached builds). */
  version?: ImmichRelease;
  label: string;
  photos: readonly string[];
  /** Immich patched by `immich-ai patch` (else stock). */
  patched?: boolean;
  /** Serve the patched web app too. */
  web?: boolean;
}): Promise<ImmichStack> {
  const database = `immich_ai_${label}_${process.pid}`;
  const ml = await startMlStack();
  await flushRedis();
  const mediaDir = mkdtempSync(join(tmpdir(), 'immich-media-'));
  const options = {
    version,
    mediaDir,
    immichDir: immichBuild(patched ? 'patched-dir' : 'dir', version),
    database,
    redisDbIndex: testRedisDb(),
    mlUrl: ml.gatewayUrl,
    ...(web ? { webBuild: join(immichBuild('web-dir', version), 'web', 'build') } : {}),
  };
  // The first start creates the schema. Immich's postgres client learns array types (such as
  // album_user_role_enum[]) when it opens a connection, and a worker keeps the connections it opened
  // before its migrations made them: creating an album with users then fails ("malformed array
  // literal") until a restart. Started again, the server is what an install is after its first run.
  await (await startImmich(options)).stop();
  const immich = await startImmich(options);
  const admin = await ImmichClient.admin(immich.url, ADMIN.email, ADMIN.password);
  const assets: Record<string, string> = {};
  for (const name of photos) assets[name] = await admin.upload(ocrFixture(name), `${name}.jpg`);
  // Immich thumbnails the photos, then runs its own OCR and CLIP through our gateway. Its queues can
  // look idle between an upload's jobs, so it is done when they are idle and every photo has CLIP.
  const databaseUrl = dbUrl(database);
  const db = createDatabase(databaseUrl, { max: 2 });
  await eventually(
    async () =>
      (await admin.queuesIdle()) &&
      (await db.selectFrom('smart_search').select('assetId').execute()).length === photos.length,
    240_000,
    1000,
  );
  return {
    ml,
    immich,
    admin,
    assets,
    databaseUrl,
    db,
    stop: async () => {
      await db.destroy();
      await immich.stop();
      rmSync(mediaDir, { recursive: true, force: true });
      await ml.close();
      await dropDatabase(database);
    },
  };
}
