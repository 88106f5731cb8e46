import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectMediaLocation, loadExtensionConfig } from '../../src/config/extension.config';
import { ConfigError } from '../../src/config/parse-env';
import { ExtensionModule } from '../../src/extension/extension.module';
import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { sql } from 'kysely';
import { ImmichAiModule } from '../../src/extension/immich/immich-ai.module';
import { ImmichIntegrationService } from '../../src/extension/immich/immich-integration.service';

describe('extension configuration', () => {
  it("uses Immich's variable names and defaults, so Immich's .env works unchanged", () => {
    const config = loadExtensionConfig({});
    expect(config.database.url).toBe('postgres://postgres:postgres@database:5432/immich');
    expect(config.redis).toEqual({
      host: 'redis',
      port: 6379,
      db: 0,
      username: undefined,
      password: undefined,
      path: undefined,
    });
    expect(config.mediaLocation).toBe('/data');
    expect(config.port).toBe(2284);
    const custom = loadExtensionConfig({
      DB_HOSTNAME: 'pg',
      DB_USERNAME: 'immich',
      DB_PASSWORD: 'p@ss/word',
      DB_DATABASE_NAME: 'photos',
      REDIS_HOSTNAME: 'valkey',
      REDIS_DBINDEX: '3',
    });
    expect(custom.database.url).toBe('postgres://immich:p%40ss%2Fword@pg:5432/photos');
    expect(custom.redis.db).toBe(3);
    expect(loadExtensionConfig({ DB_URL: 'postgresql://u@h/db', DB_HOSTNAME: 'ignored' }).database.url).toBe(
      'postgresql://u@h/db',
    );
  });

  it("finds Immich's media where Immich does when IMMICH_MEDIA_LOCATION is unset, old installs included", () => {
    const only = (...present: string[]) => detectMediaLocation((path) => present.includes(path));
    expect(only('/data')).toBe('/data');
    // An install that still mounts its library at the old path: Immich reads and writes it there.
    expect(only('/usr/src/app/upload')).toBe('/usr/src/app/upload');
    expect(only('/data', '/usr/src/app/upload')).toBe('/usr/src/app/upload');
    expect(only()).toBe('/data');
    expect(loadExtensionConfig({ IMMICH_MEDIA_LOCATION: '/mnt/immich' }).mediaLocation).toBe('/mnt/immich');
  });

  it('bounds what one search scores: SEARCH_TEXT_CANDIDATES, 200 by default, 100-100000', () => {
    expect(loadExtensionConfig({}).search.textCandidates).toBe(200);
    expect(loadExtensionConfig({ SEARCH_TEXT_CANDIDATES: '5000' }).search.textCandidates).toBe(5000);
    expect(() => loadExtensionConfig({ SEARCH_TEXT_CANDIDATES: '10' })).toThrow(/SEARCH_TEXT_CANDIDATES/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadExtensionConfig({ PORT: '', SEGMENTER: '' })).toEqual(loadExtensionConfig({}));
  });

  it('names every bad variable at once, and hides secrets', () => {
    let error: ConfigError | undefined;
    try {
      loadExtensionConfig({
        PORT: '70000',
        SEGMENTER: 'icu',
        JOB_CONCURRENCY: '0',
        SEARCH_WEIGHT_OCR: '-1',
        DB_PASSWORD: '',
        DB_URL: 'http://secret@x',
      });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems.map((problem) => problem.split('=')[0])).toEqual([
      'PORT',
      'DB_URL',
      'SEGMENTER',
      'JOB_CONCURRENCY',
      'SEARCH_WEIGHT_OCR',
    ]);
    expect(error!.message).not.toContain('secret');
  });

  it('keeps every number a user sets within a sensible range', () => {
    for (const [name, value] of [
      ['INFERENCE_TIMEOUT_MS', '10'],
      ['JOB_ATTEMPTS', '100'],
      ['OCR_MIN_RECOGNITION_SCORE', '1.5'],
      ['OCR_MAX_RESOLUTION', '100000'],
      ['SEARCH_CANDIDATES', '5'],
      ['REDIS_DBINDEX', '-1'],
      ['INFERENCE_URL', 'ftp://x'],
    ]) {
      expect(() => loadExtensionConfig({ [name]: value })).toThrow(new RegExp(`${name}=`));
    }
  });
});

describe("Immich's other connection settings, and our prefix", () => {
  it("reads REDIS_SOCKET, REDIS_URL in Immich's ioredis:// form, and DB_SSL_MODE as Immich does", () => {
    expect(loadExtensionConfig({ REDIS_SOCKET: '/run/redis.sock' }).redis.path).toBe('/run/redis.sock');
    const options = { host: 'sentinel-master', port: 26379, db: 2, password: 'pw' };
    const url = `ioredis://${Buffer.from(JSON.stringify(options)).toString('base64')}`;
    expect(loadExtensionConfig({ REDIS_URL: url, REDIS_HOSTNAME: 'ignored' }).redis).toEqual(options);
    expect(() => loadExtensionConfig({ REDIS_URL: 'redis://x:6379' })).toThrow(
      /REDIS_URL=\(hidden\): expected ioredis:\/\//,
    );
    expect(() => loadExtensionConfig({ REDIS_URL: 'ioredis://not-json' })).toThrow(/not base64 of a JSON object/);
    expect(loadExtensionConfig({}).database.ssl).toBe(false);
    expect(loadExtensionConfig({ DB_SSL_MODE: 'prefer' }).database.ssl).toBe(false);
    expect(loadExtensionConfig({ DB_SSL_MODE: 'require' }).database.ssl).toEqual({ rejectUnauthorized: false });
    expect(loadExtensionConfig({ DB_SSL_MODE: 'verify-full' }).database.ssl).toEqual({ rejectUnauthorized: true });
    expect(() => loadExtensionConfig({ DB_SSL_MODE: 'sometimes' })).toThrow(/DB_SSL_MODE/);
    expect(loadExtensionConfig({ REDIS_DBINDEX: '20' }).redis.db).toBe(20);
  });

  it("reads secrets from files as Immich's start script does (NAME_FILE, CREDENTIALS_DIRECTORY), never echoing them", () => {
    const dir = mkdtempSync(join(tmpdir(), 'immich-ai-secrets-'));
    writeFileSync(join(dir, 'db-password'), 's3cret/pw\n');
    writeFileSync(join(dir, 'REDIS_PASSWORD'), 'redis-pw');
    const config = loadExtensionConfig({ DB_PASSWORD_FILE: join(dir, 'db-password'), CREDENTIALS_DIRECTORY: dir });
    expect(config.database.url).toBe('postgres://postgres:s3cret%2Fpw@database:5432/immich');
    expect(config.redis.password).toBe('redis-pw');
    expect(() => loadExtensionConfig({ DB_PASSWORD_FILE: join(dir, 'missing') })).toThrow(
      /DB_PASSWORD_FILE: cannot be read \(ENOENT\)/,
    );
  });

  it('takes IMMICH_AI_-prefixed names over plain ones', () => {
    expect(
      loadExtensionConfig({ SEARCH_CANDIDATES: '300', IMMICH_AI_SEARCH_CANDIDATES: '400' }).search.candidates,
    ).toBe(400);
    expect(loadExtensionConfig({ IMMICH_AI_JOB_CONCURRENCY: '5' }).jobs.concurrency).toBe(5);
  });

  describe('inside Immich', () => {
    const imported = (module: ReturnType<typeof ImmichAiModule.forImmich>) =>
      (module.imports ?? []).map((child) => (child as { module?: unknown }).module);
    const forImmich = (env: NodeJS.ProcessEnv) =>
      ImmichAiModule.forImmich({ worker: 'microservices', kyselyToken: 'kysely' }, env);

    it("reads only our IMMICH_AI_ variables: Immich's own PORT, JOB_* and REDIS_DBINDEX=20 do not concern it", () => {
      const module = forImmich({
        PORT: 'not-a-port',
        JOB_CONCURRENCY: '0',
        REDIS_DBINDEX: '20',
        SEARCH_CANDIDATES: '1',
      });
      expect(imported(module)).toEqual([ExtensionModule]);
    });

    /** Injects the integration as Immich's ImmichAiService does (a property, not optional). */
    @Injectable()
    class ImmichSide {
      @Inject(ImmichIntegrationService) readonly immichAi!: ImmichIntegrationService;
    }

    it('turns itself off, saying why, when one of our values is wrong: Immich starts and answers searches itself', async () => {
      const errors: string[] = [];
      const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        errors.push(String(chunk));
        return true;
      });
      let module;
      try {
        module = forImmich({ IMMICH_AI_SEARCH_CANDIDATES: '5', IMMICH_AI_DB_PASSWORD: 'hidden-pw' });
      } finally {
        spy.mockRestore();
      }
      expect(module.imports ?? []).toEqual([]);
      const logged = errors.join('');
      expect(logged).toMatch(/immich-ai is off until this is fixed/);
      expect(logged).toMatch(/SEARCH_CANDIDATES=/);

      // Immich's services still resolve the integration (a missing provider would stop Immich's boot).
      const app = await Test.createTestingModule({ imports: [module], providers: [ImmichSide] }).compile();
      const { immichAi } = app.get(ImmichSide);
      expect(immichAi.enabled).toBe(false);
      const scope = { userIds: [], page: 1, size: 10, assets: () => sql<{ id: string; ownerId: string }>`` };
      await expect(immichAi.rankOcrQuery({ query: 'ocr:发票' }, scope)).resolves.toBeUndefined();
      await expect(immichAi.rankOcrText({ ocr: '发票' }, scope)).resolves.toBeUndefined();
      await expect(immichAi.immichOcrDone('00000000-0000-4000-8000-000000000000')).resolves.toBeUndefined();
      const off = immichAi.queueStatus({ id: 'user', isAdmin: true });
      await expect(off).rejects.toBeInstanceOf(ServiceUnavailableException);
      await expect(off).rejects.toThrow(/immich-ai is off .*server log/);
      await expect(off).rejects.not.toThrow(/hidden-pw/);
      expect(() => immichAi.queueOcr('failed')).toThrow(ServiceUnavailableException);
      await app.close();
    });
  });
});
