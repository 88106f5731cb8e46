import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { supportedVersions } from '../../src/patching/immich-patcher';
import { IMMICH_RELEASES } from '../../src/shared/immich-releases';
import { upstreamSource } from '../support/upstream-sources';

/** `immich-ai patch` on fresh copies of every supported Immich release's source, through the built CLI. */

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');

/**
 * What each release's series touches (unpacking all of it takes longer than the tests), its Chinese
 * locale file, and a line of search.service.ts that a hunk of 0002 relies on (changed to play "Immich
 * moved on").
 */
const RELEASES: Record<string, { paths: string[]; zh: string; contextLine: string }> = {
  '2.4.1': {
    paths: ['server/src', 'server/package.json', 'web/src/lib', 'i18n'],
    zh: 'zh_SIMPLIFIED.json',
    contextLine: 'const size = dto.size || 250;',
  },
  '3.1.0': {
    paths: ['server/src', 'server/package.json', 'web/src', 'i18n'],
    zh: 'zh_Hans.json',
    contextLine: 'const size = dto.size || 250;',
  },
};

type Result = { code?: number; stdout: string; stderr: string };

it('has a patch series for every release immich-ai names as supported (doctor, tests), and no other', () => {
  expect(supportedVersions()).toEqual([...IMMICH_RELEASES]);
});

describe.each(supportedVersions())('immich-ai patch on Immich v%s', (version) => {
  let root: string;
  let immich: string;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'immich-patch-'));
    const archive = upstreamSource(`immich-v${version}.tar.xz`);
    await run('tar', [
      '-xJf',
      archive,
      '-C',
      root,
      ...RELEASES[version].paths.map((path) => `immich-v${version}/${path}`),
    ]);
    immich = join(root, `immich-v${version}`);
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const patch = (...args: string[]): Promise<Result> =>
    run(process.execPath, [CLI, 'patch', ...args, immich]).catch((error: Result) => error);
  const appModule = () => readFileSync(join(immich, 'server', 'src', 'app.module.ts'), 'utf8');
  const locale = (name: string) =>
    JSON.parse(readFileSync(join(immich, 'i18n', name), 'utf8')) as Record<string, unknown>;
  const setVersion = (next: string) => {
    const manifest = join(immich, 'server', 'package.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(`"version": "${version}"`, `"version": "${next}"`));
  };

  it('has a series that applies to the vendored release, every patch pending, and --check changes nothing', async () => {
    const before = appModule();
    const { stdout } = await patch('--check');
    // Read this list when it fails: each line names the patch, the file and the hunk that no longer applies.
    const notPending = stdout
      .trim()
      .split('\n')
      .filter((line) => !line.startsWith('pending '));
    expect(notPending).toEqual([]);
    expect(stdout).toMatch(new RegExp(`^pending {2}v${version}/server/0001-register-immich-ai\\.patch$`, 'm'));
    expect(stdout).toMatch(/^pending {2}i18n\/zh-CN\.json$/m);
    expect(appModule()).toBe(before);
    expect(existsSync(join(immich, 'server', 'immich-ai'))).toBe(false);
  });

  it('applies the series, merges our strings and copies the bundle; a second run changes nothing', async () => {
    const english = readFileSync(join(immich, 'i18n', 'en.json'), 'utf8');
    const first = await patch();
    expect(first.stdout).toMatch(new RegExp(`^applied v${version}/server/0001-register-immich-ai\\.patch$`, 'm'));
    expect(first.stdout).toMatch(/^applied i18n\/en\.json$/m);
    expect(first.stdout).toMatch(/copied the extension to server\/immich-ai\/$/m);
    expect(appModule()).toContain("from '../immich-ai/extension.cjs'");
    expect(readFileSync(join(immich, 'server', 'immich-ai', 'extension.cjs'), 'utf8')).toContain('ImmichAiModule');
    // A JSON merge: Immich's strings kept as they were, ours added, the file sorted as Immich keeps it.
    const merged = locale('en.json');
    expect(merged).toEqual({ ...(JSON.parse(english) as object), ...merged });
    expect(merged.regenerate_ocr).toBe('Regenerate OCR');
    expect(locale(RELEASES[version].zh).regenerate_clip).toBe('重新生成 CLIP 特征');
    const keys = Object.keys(merged);
    expect(keys).toEqual([...keys].sort());

    const patched = appModule();
    const english2 = readFileSync(join(immich, 'i18n', 'en.json'), 'utf8');
    const second = await patch();
    expect(second.stdout).toMatch(
      new RegExp(`^already applied v${version}/server/0001-register-immich-ai\\.patch$`, 'm'),
    );
    expect(second.stdout).toMatch(/^already applied i18n\/zh-CN\.json$/m);
    expect(appModule()).toBe(patched);
    expect(readFileSync(join(immich, 'i18n', 'en.json'), 'utf8')).toBe(english2);
    const check = (await patch('--check')).stdout;
    expect(
      check
        .trim()
        .split('\n')
        .filter((line) => !line.startsWith('applied ')),
    ).toEqual([]);
  });

  it('names the patch, file and hunk that no longer apply, and leaves the tree unchanged', async () => {
    // Immich "moved on": a line a hunk relies on is different now.
    const search = join(immich, 'server', 'src', 'services', 'search.service.ts');
    const { contextLine } = RELEASES[version];
    expect(readFileSync(search, 'utf8')).toContain(contextLine);
    writeFileSync(search, readFileSync(search, 'utf8').replace(contextLine, `${contextLine} // changed upstream`));
    const before = appModule();
    const failed = await patch();
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('nothing was changed');
    expect(failed.stderr).toMatch(
      /server\/0002-ocr-and-mixed-search\.patch: server\/src\/services\/search\.service\.ts, hunk @@ -\d+,\d+ \+\d+,\d+ @@/,
    );
    expect(appModule()).toBe(before);
    expect(existsSync(join(immich, 'server', 'immich-ai'))).toBe(false);
    const check = await patch('--check');
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(
      /^conflict v[\d.]+\/server\/0002-ocr-and-mixed-search\.patch: server\/src\/services\/search\.service\.ts, hunk/m,
    );
    // Hunk by hunk: the one that fails, and the others of that patch that still apply.
    expect(check.stdout).toMatch(/^ {2}FAILS {2}server\/src\/services\/search\.service\.ts @@/m);
    expect(check.stdout).toMatch(/^ {2}ok {5}server\/src\/services\/search\.service\.ts @@ -1,4 \+1,\d+ @@/m);
  });

  it('refuses a release without a series and names the supported ones; --check tries the nearest, hunk by hunk', async () => {
    const [major, minor] = version.split('.').map(Number);
    const next = `${major}.${minor + 1}.0`;
    setVersion(next);
    const failed = await patch();
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`is Immich ${next}, which has no patch series; supported: v2.4.1, v3.1.0`);
    expect(appModule()).not.toContain('immich-ai');

    const check = await patch('--check');
    expect(check.code ?? 0).toBe(0);
    expect(check.stdout).toContain(
      `Immich ${next} has no series (supported: v2.4.1, v3.1.0); checking the nearest, v${version}, hunk by hunk`,
    );
    expect(check.stdout).toMatch(/^ {2}ok {5}server\/src\/app\.module\.ts @@ /m);
    expect(check.stdout).not.toMatch(/FAILS|conflict/);
    expect(appModule()).not.toContain('immich-ai');
  });

  it('refuses a folder that is not Immich', async () => {
    const notImmich = (await run(process.execPath, [CLI, 'patch', root]).catch((error: Result) => error)) as Result;
    expect(notImmich.stderr).toContain('is not an Immich source tree');
  });
});
