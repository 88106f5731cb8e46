import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImmichRelease, immichBuild, major, releaseEnv, TEST_IMMICH_VERSION } from './immich-release';
import { freePort } from './private-services';
import { upstreamSource } from './upstream-sources';

/**
 * A real Immich server (API + microservices workers; v2.4.1 or v3.1.0, the latter on Node 24), built
 * by scripts/immich-server.sh and started with run-immich.sh (the vendor folder's, else scripts/run-immich.sh)
 * on a database and Redis index of the test's own, plus a small client for the REST calls the tests make as
 * a user would.
 */

export interface ImmichServer {
  version: ImmichRelease;
  url: string;
  database: string;
  mediaDir: string;
  /** The end of Immich's output (for failure messages). */
  output(): string;
  /** Where Immich's output (its start, then its end) first matches: the match and what follows it. */
  logged(pattern: RegExp): string | undefined;
  stop(): Promise<void>;
}

export async function startImmich({
  version = TEST_IMMICH_VERSION,
  immichDir = immichBuild('dir', version),
  database,
  redisDbIndex,
  mlUrl,
  webBuild,
  env = {},
  mediaDir: givenMediaDir,
}: {
  version?: ImmichRelease;
  immichDir?: string;
  database: string;
  redisDbIndex: number;
  mlUrl: string;
  /** A built web app (web/build) for the server to serve; without it, the API only. */
  webBuild?: string;
  /** More variables for Immich's processes (ours, IMMICH_AI_*, say). */
  env?: Record<string, string>;
  /** Immich's media folder, kept by the caller (a restart on the same database needs the same one); else a fresh one, removed on stop. */
  mediaDir?: string;
}): Promise<ImmichServer> {
  const port = await freePort();
  const mediaDir = givenMediaDir ?? mkdtempSync(join(tmpdir(), 'immich-media-'));
  // Immich serves its web app from $IMMICH_BUILD_DATA/www, beside the geodata and core plugin.
  let buildData: string | undefined;
  if (webBuild) {
    buildData = mkdtempSync(join(tmpdir(), 'immich-build-data-'));
    cpSync(upstreamSource('immich-build-data'), buildData, { recursive: true });
    symlinkSync(webBuild, join(buildData, 'www'));
  }
  let log = '';
  const child: ChildProcess = spawn('bash', [upstreamSource('run-immich.sh')], {
    env: {
      ...releaseEnv(version),
      IMMICH_DIR: immichDir,
      IMMICH_DB: database,
      REDIS_DBINDEX: String(redisDbIndex),
      IMMICH_PORT: String(port),
      IMMICH_HOST: '127.0.0.1',
      MEDIA_DIR: mediaDir,
      ML_URL: mlUrl,
      IMMICH_LOG_LEVEL: 'warn',
      ...(buildData ? { IMMICH_BUILD_DATA: buildData } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // The tail for failure messages, and the start (where boot-time errors are) kept whole.
  let head = '';
  const take = (chunk: Buffer) => {
    const text = chunk.toString();
    log = (log + text).slice(-20_000);
    if (head.length < 200_000) head += text;
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const url = `http://127.0.0.1:${port}`;
  const server: ImmichServer = {
    version,
    url,
    database,
    mediaDir,
    output: () => log,
    logged: (pattern) => {
      const text = `${head}\n${log}`;
      const found = pattern.exec(text);
      return found ? text.slice(found.index, found.index + 1000) : undefined;
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (!givenMediaDir) rmSync(mediaDir, { recursive: true, force: true });
      if (buildData) rmSync(buildData, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Immich exited (${child.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${url}/api/server/ping`)).ok) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`Immich did not answer /api/server/ping within 120 s:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** What Immich's search endpoints answer (the part the tests read). */
export interface SearchResponse {
  assets: {
    total: number;
    count: number;
    items: Array<{ id: string; type: string; ownerId: string; originalFileName: string }>;
    facets: unknown[];
    nextPage: string | null;
  };
}

/** The REST calls of Immich's own web app, enough to set up a library. */
export class ImmichClient {
  constructor(
    readonly url: string,
    readonly token?: string,
    readonly apiKey?: string,
  ) {}

  /** The same user's calls made with an API key instead of the session. */
  withApiKey(apiKey: string): ImmichClient {
    return new ImmichClient(this.url, undefined, apiKey);
  }

  private get auth(): Record<string, string> {
    if (this.apiKey) return { 'x-api-key': this.apiKey };
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, expect = [200, 201]): Promise<T> {
    const response = await fetch(`${this.url}/api${path}`, {
      method,
      headers: { ...this.auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    if (!expect.includes(response.status)) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Signs up the first user as admin (once per server), or logs in. Returns a client with its token. */
  static async admin(url: string, email = 'admin@example.com', password = 'admin-password'): Promise<ImmichClient> {
    const anonymous = new ImmichClient(url);
    await anonymous.request('POST', '/auth/admin-sign-up', { email, password, name: 'Admin' }, [200, 201, 400]);
    return anonymous.login(email, password);
  }

  async login(email: string, password: string): Promise<ImmichClient> {
    const { accessToken } = await this.request<{ accessToken: string }>('POST', '/auth/login', { email, password });
    return new ImmichClient(this.url, accessToken);
  }

  async createUser(email: string, password: string, name: string): Promise<ImmichClient> {
    await this.request('POST', '/admin/users', { email, password, name });
    return new ImmichClient(this.url).login(email, password);
  }

  async createApiKey(permissions = ['all']): Promise<string> {
    const { secret } = await this.request<{ secret: string }>('POST', '/api-keys', {
      name: 'immich-ai test',
      permissions,
    });
    return secret;
  }

  /** The server's release, e.g. 3.1.0. */
  async version(): Promise<ImmichRelease> {
    const { major: x, minor, patch } = await this.request<Record<string, number>>('GET', '/server/version');
    return `${x}.${minor}.${patch}` as ImmichRelease;
  }

  async upload(file: Buffer, fileName: string): Promise<string> {
    const form = new FormData();
    const now = new Date().toISOString();
    // v3 no longer takes the uploading device's ids.
    if (major(await this.version()) < 3) {
      form.append('deviceAssetId', `${fileName}-${file.length}`);
      form.append('deviceId', 'immich-ai-test');
    }
    form.append('fileCreatedAt', now);
    form.append('fileModifiedAt', now);
    form.append('assetData', new Blob([new Uint8Array(file)], { type: 'image/jpeg' }), fileName);
    const response = await fetch(`${this.url}/api/assets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}` },
      body: form,
    });
    const body = (await response.json()) as { id: string; status: string };
    if (response.status !== 201) throw new Error(`upload ${fileName}: ${response.status} ${JSON.stringify(body)}`);
    return body.id;
  }

  /** Asset ids of Immich's smart search, in its order; `filters`: the request's other fields. */
  async smartSearch(query: string, filters: Record<string, unknown> = {}): Promise<string[]> {
    const body = await this.request<SearchResponse>('POST', '/search/smart', { ...filters, query });
    return body.assets.items.map((item) => item.id);
  }

  /** Asset ids of Immich's metadata search on its OCR field (the search panel's "text in photo"). */
  async ocrFieldSearch(ocr: string, filters: Record<string, unknown> = {}): Promise<string[]> {
    return this.metadataSearch({ ...filters, ocr });
  }

  /** Asset ids of Immich's metadata search, in its order. */
  async metadataSearch(fields: Record<string, unknown>): Promise<string[]> {
    const body = await this.request<SearchResponse>('POST', '/search/metadata', fields);
    return body.assets.items.map((item) => item.id);
  }

  /** True when no Immich queue has work waiting, running or delayed. */
  async queuesIdle(): Promise<boolean> {
    const queues = await this.request<Record<string, { jobCounts: Record<string, number> }>>('GET', '/jobs');
    return Object.values(queues).every(
      ({ jobCounts }) => jobCounts.active + jobCounts.waiting + jobCounts.delayed === 0,
    );
  }
}
