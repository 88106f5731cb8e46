import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { ExtensionConfig, loadExtensionConfig } from '../../../src/config/extension.config';
import { createSidecarApp, SidecarApp } from '../../../src/extension/sidecar/create-sidecar-app';
import { ocrFixturePath } from '../../support/fixtures';
import type { TestDatabase } from '../../support/immich-database';

/**
 * Each jest worker gets its own Redis database (TEST_REDIS_DB_BASE, default 10, + worker id), emptied
 * before use, so two suites running at once never see each other's queue. A second test run on the
 * same machine at the same time sets another base (13: databases 13-15).
 */
export function testRedisDb(): number {
  const base = Number(process.env.TEST_REDIS_DB_BASE ?? '10');
  return base + (Number(process.env.JEST_WORKER_ID ?? '1') % 3);
}

export async function flushRedis(db = testRedisDb(), port = 6379): Promise<void> {
  const redis = new IORedis({ host: '127.0.0.1', port, db, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.flushdb();
  redis.disconnect();
}

export interface RunningSidecar extends SidecarApp {
  url: string;
  config: ExtensionConfig;
}

/** The sidecar on 127.0.0.1 (port 0) against a test database, with quick retries for tests. */
export async function startSidecar(database: TestDatabase, env: Record<string, string> = {}): Promise<RunningSidecar> {
  const config = loadExtensionConfig({
    DB_URL: database.url,
    REDIS_HOSTNAME: '127.0.0.1',
    REDIS_DBINDEX: String(testRedisDb()),
    HTTP_HOST: '127.0.0.1',
    PORT: '0',
    JOB_BACKOFF_MS: '200',
    JOB_LOCK_MS: '5000',
    JOB_STALLED_CHECK_MS: '1000',
    NEW_ASSET_POLL_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '20000',
    ...env,
  });
  const sidecar = await createSidecarApp(config, { logger: ['error'] });
  await sidecar.app.listen(0, '127.0.0.1');
  const { port } = sidecar.app.getHttpServer().address() as AddressInfo;
  return { ...sidecar, url: `http://127.0.0.1:${port}`, config };
}

/** A temp IMMICH_MEDIA_LOCATION holding the OCR fixtures as Immich-style previews. */
export async function mediaWithPreviews(names: readonly string[]) {
  const root = await mkdtemp(join(tmpdir(), 'immich-ai-media-'));
  const paths: Record<string, string> = {};
  for (const name of names) {
    const dir = join(root, 'thumbs', 'user', name.slice(0, 2));
    await mkdir(dir, { recursive: true });
    paths[name] = join(dir, `${name}-preview.jpeg`);
    await copyFile(ocrFixturePath(name), paths[name]);
  }
  return { root, paths, remove: () => rm(root, { recursive: true, force: true }) };
}

/** Polls until `check` returns something truthy (or throws the last error after `timeoutMs`). */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  stepMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw lastError ?? new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

export const api = (sidecar: { url: string }, key: string) => ({
  get: (path: string) => fetch(`${sidecar.url}${path}`, { headers: { 'x-api-key': key } }),
  post: (path: string, body: unknown) =>
    fetch(`${sidecar.url}${path}`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
});
