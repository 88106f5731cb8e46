import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

/**
 * scripts/upstream-sources.sh on a clone with no vendor folder beside it, against a fake upstream on
 * this machine: GitHub's archives from a loopback HTTP server, Immich's repository as a local bare git
 * repository with two tiny commits (one per release). The real sources are never downloaded here.
 */

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);
const git = (cwd: string, ...args: string[]) =>
  execFileSync(
    'git',
    ['-c', 'user.name=test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args],
    {
      cwd,
      encoding: 'utf8',
    },
  ).trim();

function write(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/** A gzipped tar of one folder, as GitHub serves an archive, and the sha256 of its tar. */
function archive(work: string, top: string, files: Record<string, string>): { gz: Buffer; sha256: string } {
  const dir = mkdtempSync(join(work, 'archive-'));
  write(join(dir, top), files);
  const tar = execFileSync('tar', ['-cf', '-', '-C', dir, top]);
  rmSync(dir, { recursive: true, force: true });
  return { gz: gzipSync(tar), sha256: createHash('sha256').update(tar).digest('hex') };
}

type Result = { code: number; stdout: string; stderr: string };

describe('scripts/upstream-sources.sh: the sources the tests build from', () => {
  let work: string;
  let repo: string;
  let server: Server;
  let base: string;
  const served = new Map<string, Buffer>();
  const requests: string[] = [];
  let commits: { v2: string; v3: string };
  let sums: Record<'pgvector' | 'scws' | 'zhparser', string>;
  const zhparserCommit = 'a'.repeat(40);

  /** The pins file of the clone: the fake upstream's commits and sums, or others. */
  const pin = (overrides: Record<string, string> = {}) => {
    const pins: Record<string, string> = {
      IMMICH_2_4_1_COMMIT: commits.v2,
      IMMICH_3_1_0_COMMIT: commits.v3,
      PGVECTOR_VERSION: '0.8.6',
      PGVECTOR_COMMIT: 'b'.repeat(40),
      PGVECTOR_TAR_SHA256: sums.pgvector,
      SCWS_VERSION: '1.2.3',
      SCWS_COMMIT: 'c'.repeat(40),
      SCWS_TAR_SHA256: sums.scws,
      ZHPARSER_COMMIT: zhparserCommit,
      ZHPARSER_TAR_SHA256: sums.zhparser,
      ...overrides,
    };
    const text = Object.entries(pins).map(([name, value]) => `${name}=${value}`);
    writeFileSync(join(repo, 'scripts', 'upstream-sources.env'), `# test pins\n${text.join('\n')}\n`);
  };

  const script = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> => {
    const { IMMICH_VENDOR_DIR: _vendor, ...rest } = process.env;
    return run(join(repo, 'scripts', 'upstream-sources.sh'), args, {
      env: {
        ...rest,
        IMMICH_AI_CACHE: join(work, 'cache'),
        IMMICH_AI_UPSTREAM_ARCHIVES: base,
        IMMICH_AI_UPSTREAM_IMMICH_GIT: `file://${join(work, 'immich.git')}`,
        ...env,
      },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: Result) => error,
    );
  };
  const cacheFiles = () =>
    existsSync(join(work, 'cache', 'upstream')) ? readdirSync(join(work, 'cache', 'upstream')) : [];
  const tarList = (file: string) => execFileSync('tar', ['-tJf', file], { encoding: 'utf8' }).trim().split('\n');

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'upstream-sources-'));
    // A clone of ours with nothing beside it (no ../shared/vendor): the scripts and what they read.
    repo = join(work, 'clone');
    for (const file of ['scripts/upstream-sources.sh', 'scripts/run-immich.sh', 'test/fixtures/immich-build-data']) {
      cpSync(join(ROOT, file), join(repo, file), { recursive: true });
    }

    // Immich's repository: the folders the tests build, and some they do not (docs' pages, mobile/).
    const source = join(work, 'immich');
    write(source, {
      'package.json': '{"name":"immich-monorepo"}\n',
      'pnpm-workspace.yaml': 'packages:\n  - server\n  - web\n  - docs\n',
      'server/package.json': '{"name":"immich","version":"2.4.1"}\n',
      'server/Dockerfile': 'FROM scratch\n',
      'web/package.json': '{"name":"immich-web"}\n',
      'i18n/en.json': '{}\n',
      'open-api/immich-openapi-specs.json': '{}\n',
      'plugins/manifest.json': '{"name":"immich-core"}\n',
      'docs/package.json': '{"name":"documentation"}\n',
      'docs/static/img/screenshot.png': 'not needed\n',
      'mobile/pubspec.yaml': 'name: immich_mobile\n',
    });
    git(source, 'init', '-q');
    git(source, 'add', '-A');
    git(source, 'commit', '-qm', 'v2.4.1');
    const v2 = git(source, 'rev-parse', 'HEAD');
    write(source, {
      'server/package.json': '{"name":"immich","version":"3.1.0"}\n',
      'packages/sdk/package.json': '{"name":"@immich/sdk"}\n',
    });
    git(source, 'add', '-A');
    git(source, 'commit', '-qm', 'v3.1.0');
    commits = { v2, v3: git(source, 'rev-parse', 'HEAD') };
    git(work, 'clone', '-q', '--bare', source, join(work, 'immich.git'));

    const pgvector = archive(work, 'pgvector-0.8.6', { Makefile: 'EXTENSION = vector\n' });
    const scws = archive(work, 'scws-1.2.3', { acprep: '#!/bin/sh\n' });
    const zhparser = archive(work, `zhparser-${zhparserCommit}`, { Makefile: 'EXTENSION = zhparser\n' });
    sums = { pgvector: pgvector.sha256, scws: scws.sha256, zhparser: zhparser.sha256 };
    served.set('/pgvector/pgvector/archive/refs/tags/v0.8.6.tar.gz', pgvector.gz);
    served.set('/hightman/scws/archive/refs/tags/1.2.3.tar.gz', scws.gz);
    served.set(`/amutu/zhparser/archive/${zhparserCommit}.tar.gz`, zhparser.gz);

    server = createServer((request, response) => {
      requests.push(request.url!);
      const body = served.get(request.url!);
      response.writeHead(body ? 200 : 404).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    pin();
    requests.length = 0;
    rmSync(join(work, 'cache'), { recursive: true, force: true });
  });

  it('without a vendor folder: fetches each source once, checks it and caches it, laid out as the vendored one', async () => {
    const first = await script(['fetch']);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout.trim()).toBe(join(work, 'cache', 'upstream'));
    expect(requests.sort()).toEqual([...served.keys()].sort());
    expect(cacheFiles().filter((name) => name.startsWith('.partial'))).toEqual([]);

    // Immich: the commit of each release, the folders the tests build, only the manifest of the others.
    const v2 = (await script(['path', 'immich-v2.4.1.tar.xz'])).stdout.trim();
    const entries = tarList(v2);
    expect(entries).toEqual(
      expect.arrayContaining([
        'immich-v2.4.1/server/Dockerfile',
        'immich-v2.4.1/plugins/manifest.json',
        'immich-v2.4.1/open-api/immich-openapi-specs.json',
        'immich-v2.4.1/pnpm-workspace.yaml',
        'immich-v2.4.1/docs/package.json',
      ]),
    );
    expect(entries.filter((entry) => /\/(mobile|docs\/static)\//.test(entry))).toEqual([]);
    const v3 = (await script(['path', 'immich-v3.1.0.tar.xz'])).stdout.trim();
    expect(execFileSync('tar', ['-xJOf', v3, 'immich-v3.1.0/server/package.json'], { encoding: 'utf8' })).toContain(
      '"version":"3.1.0"',
    );
    expect(tarList(v3)).toContain('immich-v3.1.0/packages/sdk/package.json');

    // The archives as served; Immich's start-up files: ours, with v2.4.1's core plugin manifest.
    const zhparser = (await script(['path', 'zhparser.tar.gz'])).stdout.trim();
    expect(readFileSync(zhparser)).toEqual(served.get(`/amutu/zhparser/archive/${zhparserCommit}.tar.gz`));
    const buildData = (await script(['path', 'immich-build-data'])).stdout.trim();
    expect(readFileSync(join(buildData, 'corePlugin', 'manifest.json'), 'utf8')).toBe('{"name":"immich-core"}\n');
    expect(readFileSync(join(buildData, 'corePlugin', 'dist', 'plugin.wasm'))).toEqual(
      Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
    );
    expect(existsSync(join(buildData, 'geodata', 'cities500.txt'))).toBe(true);
    // Readable by everyone (a cache filled by `sudo scripts/install-pg-extensions.sh` stays usable).
    for (const path of [v2, v3, zhparser]) expect([path, statSync(path).mode & 0o777]).toEqual([path, 0o644]);
    expect(statSync(buildData).mode & 0o777).toBe(0o755);
    expect((await script(['path', 'run-immich.sh'])).stdout.trim()).toBe(join(repo, 'scripts', 'run-immich.sh'));

    // A second run finds everything in the cache.
    requests.length = 0;
    expect(await script(['fetch'], { IMMICH_AI_UPSTREAM_IMMICH_GIT: 'file:///nonexistent' })).toMatchObject({
      code: 0,
    });
    expect(requests).toEqual([]);
  });

  it('refuses an archive whose tar is not the pinned one, says what to do, and keeps nothing of it', async () => {
    pin({ ZHPARSER_TAR_SHA256: 'f'.repeat(64) });
    const result = await script(['path', 'zhparser.tar.gz']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`refused ${base}/amutu/zhparser/archive/${zhparserCommit}.tar.gz`);
    expect(result.stderr).toContain(
      `the sha256 of its tar is ${sums.zhparser}, but scripts/upstream-sources.env pins ${'f'.repeat(64)}`,
    );
    expect(result.stderr).toContain('Nothing was kept');
    expect(result.stderr).toContain('IMMICH_VENDOR_DIR');
    expect(cacheFiles().filter((name) => name !== '.lock')).toEqual([]);
  });

  it('refuses a commit the repository does not have, and keeps nothing', async () => {
    pin({ IMMICH_3_1_0_COMMIT: 'd'.repeat(40) });
    const result = await script(['path', 'immich-v3.1.0.tar.xz']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`could not fetch commit ${'d'.repeat(40)}`);
    expect(cacheFiles().filter((name) => name !== '.lock')).toEqual([]);
  });

  it('with a vendor folder: its files as they are, and nothing downloaded', async () => {
    const vendor = join(work, 'vendor');
    const names = [
      'immich-v2.4.1.tar.xz',
      'immich-v3.1.0.tar.xz',
      'pgvector-0.8.6.tar.gz',
      'scws-1.2.3.tar.gz',
      'zhparser.tar.gz',
      'run-immich.sh',
    ];
    write(vendor, Object.fromEntries(names.map((name) => [name, 'vendored\n'])));
    mkdirSync(join(vendor, 'immich-build-data'));
    // Any download would fail: nothing listens on port 1, and there is no such repository.
    const offline = {
      IMMICH_VENDOR_DIR: vendor,
      IMMICH_AI_UPSTREAM_ARCHIVES: 'http://127.0.0.1:1',
      IMMICH_AI_UPSTREAM_IMMICH_GIT: 'file:///nonexistent',
    };
    expect(await script(['fetch'], offline)).toMatchObject({ code: 0, stdout: `${vendor}\n` });
    expect(await script(['path', 'run-immich.sh'], offline)).toMatchObject({
      code: 0,
      stdout: `${join(vendor, 'run-immich.sh')}\n`,
    });
    rmSync(join(vendor, 'zhparser.tar.gz'));
    const missing = await script(['path', 'zhparser.tar.gz'], offline);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      `missing ${vendor}/zhparser.tar.gz (the vendor folder is used as it is; nothing is downloaded)`,
    );

    // ../shared/vendor beside the clone is found without IMMICH_VENDOR_DIR.
    const beside = join(work, 'shared', 'vendor');
    cpSync(vendor, beside, { recursive: true });
    try {
      const found = await script(['path', 'immich-v2.4.1.tar.xz'], {
        IMMICH_AI_UPSTREAM_ARCHIVES: 'http://127.0.0.1:1',
        IMMICH_AI_UPSTREAM_IMMICH_GIT: 'file:///nonexistent',
      });
      expect(found).toMatchObject({ code: 0, stdout: `${join(beside, 'immich-v2.4.1.tar.xz')}\n` });
    } finally {
      rmSync(join(work, 'shared'), { recursive: true, force: true });
    }
    expect(requests).toEqual([]);
    expect(existsSync(join(work, 'cache'))).toBe(false);
  });
});
