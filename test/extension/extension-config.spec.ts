import { detectMediaLocation, loadExtensionConfig } from '../../src/config/extension.config';
import { ConfigError } from '../../src/config/parse-env';

describe('extension configuration', () => {
  it("uses Immich's variable names and defaults, so Immich's .env works unchanged", () => {
    const config = loadExtensionConfig({});
    expect(config.database.url).toBe('postgres://postgres:postgres@database:5432/immich');
    expect(config.redis).toEqual({ host: 'redis', port: 6379, db: 0, username: undefined, password: undefined });
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
      ['REDIS_DBINDEX', '16'],
      ['INFERENCE_URL', 'ftp://x'],
    ]) {
      expect(() => loadExtensionConfig({ [name]: value })).toThrow(new RegExp(`${name}=`));
    }
  });
});
