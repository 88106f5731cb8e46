import { Queue } from 'bullmq';
import { Kysely, sql } from 'kysely';
import sharp from 'sharp';
import type { ExtensionConfig } from '../config/extension.config';
import { MediaFileError, MediaRepository } from '../extension/assets/media.repository';
import { connectDatabase } from '../extension/database/create-database';
import { createMigrator, MIGRATION_SCHEMA } from '../extension/database/migrator';
import { InferenceEndpoint, SIDECAR_DEFAULT_INFERENCE_URL } from '../extension/inference/inference-endpoint';
import { describeFetchError, InferenceRepository } from '../extension/inference/inference.repository';
import { QUEUE_NAME, QUEUE_PREFIX } from '../extension/queue/queue.constants';
import { type InstallMode, releaseSupport } from '../shared/immich-releases';
import { type ImmichMlSettings, mlSettings, readImmichMlSettings } from './immich-settings';

/**
 * `immich-ai doctor`: checks an install from where it runs (a container on Immich's network, or the
 * host) and says, per check, OK or what is wrong and what to do. Every check talks to the real thing:
 * Immich's database and settings, the newest preview Immich made, the ML URL Immich calls, the
 * gateway's upstreams, the inference service's models, our migrations and our queue in Redis.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  detail: string;
}

export interface DoctorOptions {
  /** Database, Redis, INFERENCE_URL and the OCR settings, as the extension reads them. */
  config: ExtensionConfig;
  /** The URL Immich sends ML requests to; default: what Immich itself uses (its settings, its env, its default). */
  mlUrl?: string;
  /** Inference services to ask for /health; default: INFERENCE_URL, else the gateway's `inference` route. */
  inferenceUrls?: string[];
  /** Immich's environment (IMMICH_MACHINE_LEARNING_URL, IMMICH_MACHINE_LEARNING_ENABLED). */
  env?: NodeJS.ProcessEnv;
  /** Per quick request (/ping, /health, /metrics, Redis); model calls get longer (first use loads the model). */
  timeoutMs?: number;
  /** How immich-ai runs: beside Immich (default) or patched into it; decides which Immich releases fit. */
  mode?: InstallMode;
}

/** cn-clip ViT-B-16's embedding size, which Immich's smart_search must hold. */
const CLIP_DIMENSIONS = 512;

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const { config, env = process.env, timeoutMs = 5_000 } = options;
  const results: CheckResult[] = [];
  const add = (check: string, status: CheckStatus, detail: string) => results.push({ check, status, detail });

  const db = connectDatabase(config.database, { max: 1, applicationName: 'immich-ai doctor' });
  let settings: ImmichMlSettings | undefined;
  try {
    const reachable = await checkDatabase(db, config.database.url, add);
    if (reachable) {
      await checkImmichVersion(db, options.mode ?? 'sidecar', add);
      await checkExtensions(db, add);
      await checkMigrations(db, add);
      settings = await readImmichMlSettings(db, env);
      checkImmichSettings(settings, add);
      await checkPreviews(db, config, add);
    }
  } finally {
    await db.destroy();
  }

  const ml = settings ?? mlSettings({}, env);
  const mlUrl = (options.mlUrl ?? ml.url).replace(/\/+$/, '');
  const source = options.mlUrl
    ? '--ml-url'
    : settings
      ? ml.urlSource
      : `${ml.urlSource}; Immich's database unreachable`;
  const gateway = await checkMlUrl(mlUrl, source, timeoutMs, add);
  if (gateway) {
    const inference = options.inferenceUrls ?? (config.inference.url ? [config.inference.url] : gateway.inference);
    await checkInference(inference.length > 0 ? inference : [SIDECAR_DEFAULT_INFERENCE_URL], timeoutMs, add);
    await checkPredict(config, mlUrl, ml, settings?.smartSearchDimensions, add);
  }
  await checkQueue(config, timeoutMs, add);
  return results;
}

/** One line per check, then `OK` or the checks that failed. */
export function formatReport(results: CheckResult[]): string {
  const label = { ok: 'OK  ', warn: 'WARN', fail: 'FAIL' } as const;
  const lines = results.map((r) => `${label[r.status]} ${r.check}: ${r.detail}`);
  const failed = results.filter((r) => r.status === 'fail').map((r) => r.check);
  const warnings = results.filter((r) => r.status === 'warn').length;
  lines.push(
    failed.length > 0
      ? `${failed.length} problem${failed.length > 1 ? 's' : ''}: ${failed.join(', ')}`
      : warnings > 0
        ? `OK (${warnings} warning${warnings > 1 ? 's' : ''})`
        : 'OK',
  );
  return `${lines.join('\n')}\n`;
}

type Add = (check: string, status: CheckStatus, detail: string) => void;

async function checkDatabase<DB>(db: Kysely<DB>, url: string, add: Add): Promise<boolean> {
  const where = safeUrl(url);
  try {
    const { rows } = await sql<{ version: string; name: string }>`
      SELECT current_setting('server_version') AS version, current_database() AS name`.execute(db);
    const { rows: immich } = await sql<{ asset: string | null }>`SELECT to_regclass('public.asset') AS asset`.execute(
      db,
    );
    if (!immich[0].asset) {
      add('database', 'fail', `${where} has no Immich tables: is DB_DATABASE_NAME Immich's database?`);
      return false;
    }
    add('database', 'ok', `PostgreSQL ${rows[0].version}, Immich's database "${rows[0].name}"`);
    return true;
  } catch (error) {
    add(
      'database',
      'fail',
      `cannot query ${where}: ${(error as Error).message}. Check DB_HOSTNAME, DB_PORT, DB_USERNAME, DB_PASSWORD, ` +
        "DB_DATABASE_NAME (or DB_URL): Immich's own values",
    );
    return false;
  }
}

async function checkExtensions<DB>(db: Kysely<DB>, add: Add): Promise<void> {
  const { rows } = await sql<{ name: string; installed: string | null }>`
    SELECT name, installed_version AS installed FROM pg_available_extensions
    WHERE name IN ('vector', 'vchord', 'vectors', 'pg_trgm', 'zhparser')`.execute(db);
  const installed = new Map(rows.filter((r) => r.installed).map((r) => [r.name, r.installed!]));
  const vector = ['vchord', 'vector', 'vectors'].filter((name) => installed.has(name));
  const listed = [...vector, 'pg_trgm'].filter((name) => installed.has(name)).map((n) => `${n} ${installed.get(n)}`);
  if (vector.length === 0) {
    add('extensions', 'fail', "no vector extension (vchord, vector or vectors): Immich's own database image has them");
  } else if (!installed.has('pg_trgm')) {
    add(
      'extensions',
      'fail',
      `${listed.join(', ')}; pg_trgm missing: our migrations create it (run immich-ai migrate)`,
    );
  } else {
    add('extensions', 'ok', listed.join(', '));
  }

  const { rows: configs } = await sql<{ parser: string }>`
    SELECT p.prsname AS parser FROM pg_ts_config c JOIN pg_ts_parser p ON p.oid = c.cfgparser
    WHERE c.cfgname = 'chinese'`.execute(db);
  if (installed.has('zhparser') && configs[0]?.parser === 'zhparser') {
    add('zhparser', 'ok', `zhparser ${installed.get('zhparser')}: Chinese words segmented in Postgres`);
  } else if (rows.some((r) => r.name === 'zhparser')) {
    add(
      'zhparser',
      'warn',
      'zhparser is installed in Postgres but not set up in this database: run sql/zhparser.sql as a superuser ' +
        '(optional: without it words come from jieba in the sidecar, characters only inside Immich)',
    );
  } else {
    add(
      'zhparser',
      'warn',
      'not installed (optional): Chinese words come from jieba in the sidecar, characters only inside Immich; ' +
        "docker/database-zhparser.yml puts Immich's database image with it in place (patched install)",
    );
  }
}

/** The release Immich last started as (its version_history), and whether it is supported in this mode. */
async function checkImmichVersion<DB>(db: Kysely<DB>, mode: InstallMode, add: Add): Promise<void> {
  const { rows } = await sql<{ version: string }>`
    SELECT version FROM version_history ORDER BY "createdAt" DESC LIMIT 1`.execute(db);
  if (rows.length === 0) {
    add('immich version', 'warn', "Immich's version_history is empty: start Immich once, then run doctor again");
    return;
  }
  const { status, detail } = releaseSupport(rows[0].version, mode);
  add('immich version', status, detail);
}

async function checkMigrations<DB>(db: Kysely<DB>, add: Add): Promise<void> {
  const known = await createMigrator(db).getMigrations();
  const pending = known.filter((m) => !m.executedAt).map((m) => m.name);
  const { rows } = await sql<{ table: string | null }>`
    SELECT to_regclass(${`${MIGRATION_SCHEMA}.migrations`}) AS table`.execute(db);
  const applied = rows[0].table
    ? (await sql<{ name: string }>`SELECT name FROM immich_ai.migrations ORDER BY name`.execute(db)).rows.map(
        (r) => r.name,
      )
    : [];
  const unknown = applied.filter((name) => !known.some((m) => m.name === name));
  if (pending.length > 0) {
    add(
      'migrations',
      'fail',
      `${pending.length} of ${known.length} not applied (${pending.join(', ')}): start the extension (it migrates ` +
        'first), or run `immich-ai migrate`; a patched Immich applies them when its server starts',
    );
  } else if (unknown.length > 0) {
    add('migrations', 'warn', `applied by a newer immich-ai and unknown to this one: ${unknown.join(', ')}`);
  } else {
    add('migrations', 'ok', `${known.length} of ${known.length} applied (schema ${MIGRATION_SCHEMA})`);
  }
}

function checkImmichSettings(settings: ImmichMlSettings, add: Add): void {
  if (!settings.enabled) {
    add('immich settings', 'fail', 'machine learning is off in Immich (Administration > Settings > Machine Learning)');
    return;
  }
  const parts = [
    `CLIP ${settings.clip.enabled ? `on, model ${settings.clip.modelName}` : 'off'}`,
    `smart_search ${settings.smartSearchDimensions ?? '?'} dimensions`,
    `Immich's OCR ${settings.ocr.enabled ? 'on' : 'off'}`,
  ];
  add('immich settings', settings.clip.enabled ? 'ok' : 'warn', parts.join(', '));
}

/** Where Immich's server keeps its media: in the stored path of a preview, the folder before `thumbs/`. */
const mediaFolderOf = (path: string) => /^(.*?)\/thumbs\//.exec(path)?.[1];

/**
 * The newest preview Immich made, read as the OCR job reads it: inside IMMICH_MEDIA_LOCATION, where
 * the sidecar mounts Immich's thumbnails (and where Immich's server has them, in the patched install).
 */
async function checkPreviews<DB>(db: Kysely<DB>, config: ExtensionConfig, add: Add): Promise<void> {
  const { rows } = await sql<{ path: string }>`
    SELECT path FROM asset_file WHERE type = 'preview' ORDER BY "updatedAt" DESC LIMIT 1`.execute(db);
  if (rows.length === 0) {
    add('previews', 'ok', 'no preview yet to read (Immich makes one for each photo it is given)');
    return;
  }
  const stored = rows[0].path;
  const location = config.mediaLocation;
  try {
    await (await new MediaRepository(config).openPreview(stored)).handle.close();
    add('previews', 'ok', `the newest preview can be read (${stored})`);
  } catch (error) {
    if (!(error instanceof MediaFileError)) throw error;
    const folder = mediaFolderOf(stored);
    const advice: Record<MediaFileError['problem'], string> = {
      outside:
        `Immich stores its previews under ${folder ?? stored}, outside IMMICH_MEDIA_LOCATION=${location}` +
        (folder ? `: set IMMICH_MEDIA_LOCATION=${folder} (docker/.env)` : ''),
      missing:
        `${stored} is not there: IMMICH_THUMBS_LOCATION (docker/.env) must be the host folder of Immich's ` +
        `thumbnails, the thumbs folder inside Immich's UPLOAD_LOCATION, as an absolute path`,
      unreadable:
        `${stored} cannot be read (${error.message}) as uid ${process.getuid?.() ?? '?'}: Immich's thumbnails ` +
        'must be readable by other users (the extension runs as uid 1000)',
      'not-a-file': `${stored} is not a file`,
      'too-large': `${stored}: ${error.message}`,
    };
    add('previews', 'fail', advice[error.problem]);
  }
}

interface GatewayInfo {
  /** Upstreams of the gateway's `inference` route (the built-in one for clip and ocr). */
  inference: string[];
}

/** /ping, then /metrics to tell our gateway (and its upstreams' health) from any other ML server. */
async function checkMlUrl(url: string, source: string, timeoutMs: number, add: Add): Promise<GatewayInfo | undefined> {
  const ping = await get(`${url}/ping`, timeoutMs);
  if (!ping.ok) {
    add('ML URL', 'fail', `${url} (${source}): /ping ${ping.problem}`);
    return undefined;
  }
  add('ML URL', 'ok', `${url} (${source}) answers /ping`);

  const metrics = await get(`${url}/metrics`, timeoutMs);
  if (!metrics.ok || !/^# TYPE gateway_upstream_healthy gauge$/m.test(metrics.body)) {
    add(
      'gateway',
      'fail',
      `${url} is not the immich-ai gateway (no gateway metrics): set Immich's ML URL to the gateway, ` +
        'IMMICH_MACHINE_LEARNING_URL=http://immich-ai-gateway:8080 (or in Administration > Settings > Machine Learning)',
    );
    return undefined;
  }
  const routes = new Map<string, { upstream: string; healthy: boolean }[]>();
  for (const match of metrics.body.matchAll(/^gateway_upstream_healthy\{([^}]*)\}\s+(\S+)$/gm)) {
    const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    const list = routes.get(labels.route) ?? [];
    list.push({ upstream: labels.upstream, healthy: match[2] === '1' });
    routes.set(labels.route, list);
  }
  if (routes.size === 0) {
    add('gateway', 'warn', 'no upstream checked yet (HEALTH_INTERVAL_MS=0, or the gateway just started)');
  } else {
    const down = [...routes].filter(([, list]) => list.every((u) => !u.healthy)).map(([route]) => route);
    const some = [...routes].some(([, list]) => list.some((u) => !u.healthy));
    const detail = [...routes]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, list]) => `${route}: ${list.map((u) => `${u.upstream} ${u.healthy ? 'up' : 'DOWN'}`).join(', ')}`)
      .join('; ');
    add('gateway', down.length > 0 ? 'fail' : some ? 'warn' : 'ok', detail);
  }
  return { inference: (routes.get('inference') ?? []).map((u) => u.upstream) };
}

interface ModelStatus {
  model: string;
  state: string;
  loadable: boolean;
  device?: string;
  error?: string;
}

async function checkInference(urls: string[], timeoutMs: number, add: Add): Promise<void> {
  for (const url of urls) {
    const health = await get(`${url}/health`, timeoutMs);
    let models: ModelStatus[] | undefined;
    try {
      models = (JSON.parse(health.body) as { models?: ModelStatus[] }).models;
    } catch {
      // not our service, or no answer: said below
    }
    if (!models) {
      add('inference', 'fail', `${url}/health ${health.ok ? 'is not an immich-ai inference service' : health.problem}`);
      continue;
    }
    const detail = models
      .map((m) => (m.loadable ? `${m.model} ${m.state}${m.device ? ` (${m.device})` : ''}` : `${m.model}: ${m.error}`))
      .join('; ');
    add('inference', health.ok ? 'ok' : 'fail', `${url}: ${detail}`);
  }
}

/** What Immich sends through the ML URL: a CLIP text query and an OCR request, answered end to end. */
async function checkPredict(
  config: ExtensionConfig,
  mlUrl: string,
  settings: ImmichMlSettings,
  dimensions: number | undefined,
  add: Add,
): Promise<void> {
  // As Immich calls it: its model name, no api-key (the gateway adds the inference service's).
  const client = new InferenceRepository(
    { ...config, clip: { modelName: settings.clip.modelName }, inference: { ...config.inference, apiKey: undefined } },
    new (class extends InferenceEndpoint {
      urls = () => Promise.resolve([mlUrl]);
    })(),
  );
  try {
    const embedding = await client.encodeText('doctor');
    const expected = dimensions ?? CLIP_DIMENSIONS;
    if (embedding.length !== expected) {
      add(
        'clip',
        'fail',
        `${settings.clip.modelName} answered ${embedding.length} numbers, but Immich's smart_search holds ${expected}: ` +
          `choose a ${embedding.length}-dimension CLIP model in Immich's settings (e.g. ViT-B-16__openai), then run ` +
          'Smart Search for all assets',
      );
    } else {
      add('clip', 'ok', `a text query through the ML URL gives ${embedding.length} numbers, as smart_search holds`);
    }
  } catch (error) {
    // The inference service's own words: a missing model names the file and the command that fetches it.
    add('clip', 'fail', (error as Error).message);
  }
  try {
    const blank = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffffff' } })
      .jpeg()
      .toBuffer();
    const result = await client.ocr(blank);
    add('ocr', 'ok', `an OCR request through the ML URL is answered (${result.text.length} lines on a blank image)`);
  } catch (error) {
    add('ocr', 'fail', (error as Error).message);
  }
}

async function checkQueue(config: ExtensionConfig, timeoutMs: number, add: Add): Promise<void> {
  const { host, port, db, path } = config.redis;
  const where = `Redis ${path ?? `${host}:${port}`} db ${db ?? 0}`;
  const queue = new Queue(QUEUE_NAME, {
    prefix: QUEUE_PREFIX,
    // One try, no reconnecting: a doctor reports an outage, it does not wait it out.
    connection: {
      ...config.redis,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    },
  });
  queue.on('error', () => undefined);
  try {
    await withTimeout(queue.waitUntilReady(), timeoutMs);
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    const workers = await queue.getWorkersCount();
    const detail =
      `${where}: queue ${QUEUE_NAME} ${counts.waiting} waiting, ${counts.active} running, ` +
      `${counts.delayed} to retry, ${counts.failed} failed; ${workers} worker${workers === 1 ? '' : 's'}`;
    if (workers > 0) add('queue', 'ok', detail);
    else
      add(
        'queue',
        'warn',
        `${detail}: nothing runs OCR jobs; start the extension (sidecar) or the patched Immich (JOB_WORKER=true)`,
      );
  } catch (error) {
    add('queue', 'fail', `${where}: ${(error as Error).message}. Check REDIS_HOSTNAME, REDIS_PORT, REDIS_PASSWORD`);
  } finally {
    await queue.close().catch(() => undefined);
  }
}

interface Answer {
  ok: boolean;
  body: string;
  /** What went wrong, for the report: `answered 503: ...` or `refused the connection (is it running?)`. */
  problem: string;
}

async function get(url: string, timeoutMs: number): Promise<Answer> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    return { ok: response.ok, body, problem: `answered ${response.status}: ${body.slice(0, 200)}` };
  } catch (error) {
    return { ok: false, body: '', problem: describeFetchError(error) };
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A database URL as a report may show it: no password. */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString().replace(/^(postgres(?:ql)?:\/\/[^@/]*):?@/, '$1@');
  } catch {
    return 'the database';
  }
}
