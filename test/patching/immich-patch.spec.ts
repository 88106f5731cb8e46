import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VENDOR_DIR } from '../support/immich-server';

/** `immich-ai patch` on a fresh copy of Immich v2.4.1's source, through the built CLI. */

const run = promisify(execFile);
const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

describe('immich-ai patch', () => {
  let root: string;
  let immich: string;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'immich-patch-'));
    // Only what the patches touch: unpacking all of it takes longer than the tests.
    await run('tar', [
      '-xJf',
      join(VENDOR_DIR, 'immich-v2.4.1.tar.xz'),
      '-C',
      root,
      'immich-v2.4.1/server/src',
      'immich-v2.4.1/server/package.json',
      'immich-v2.4.1/web/src/lib',
      'immich-v2.4.1/i18n/en.json',
      'immich-v2.4.1/i18n/zh_SIMPLIFIED.json',
      'immich-v2.4.1/open-api/immich-openapi-specs.json',
      'immich-v2.4.1/open-api/typescript-sdk/src',
    ]);
    immich = join(root, 'immich-v2.4.1');
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const patch = (...args: string[]) =>
    run(process.execPath, [CLI, 'patch', ...args, immich]).catch(
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
  const appModule = () => readFileSync(join(immich, 'server', 'src', 'app.module.ts'), 'utf8');

  it('reports every patch as pending, and changes nothing, with --check', async () => {
    const before = appModule();
    const { stdout } = (await patch('--check')) as { stdout: string };
    expect(stdout.trim().split('\n')).toEqual(
      expect.arrayContaining([expect.stringMatching(/^pending {2}server\/0001-register-immich-ai\.patch$/)]),
    );
    expect(stdout).not.toMatch(/conflict/);
    expect(appModule()).toBe(before);
    expect(existsSync(join(immich, 'server', 'immich-ai'))).toBe(false);
  });

  it('applies the patches and the bundle, and a second run changes nothing', async () => {
    const first = (await patch()) as { stdout: string };
    expect(first.stdout).toMatch(/^applied server\/0001-register-immich-ai\.patch$/m);
    expect(first.stdout).toMatch(/copied the extension to server\/immich-ai\/$/m);
    expect(appModule()).toContain("from '../immich-ai/extension.cjs'");
    expect(readFileSync(join(immich, 'server', 'immich-ai', 'extension.cjs'), 'utf8')).toContain('ImmichAiModule');
    const patched = appModule();
    const second = (await patch()) as { stdout: string };
    expect(second.stdout).toMatch(/^already applied server\/0001-register-immich-ai\.patch$/m);
    expect(appModule()).toBe(patched);
    const check = ((await patch('--check')) as { stdout: string }).stdout;
    expect(check).toMatch(/^applied {2}server\/0005-server-feature-flag\.patch$/m);
    expect(check).toMatch(/^applied {2}web\/0004-search-bar-ocr-hint\.patch$/m);
  });

  it('names the patch, file and hunk that no longer apply, and leaves the tree unchanged', async () => {
    // Immich "moved on": a line a hunk relies on is different now.
    const search = join(immich, 'server', 'src', 'services', 'search.service.ts');
    writeFileSync(
      search,
      readFileSync(search, 'utf8').replace('const size = dto.size || 250;', 'const size = dto.size || 500;'),
    );
    const before = appModule();
    const failed = (await patch()) as { code: number; stderr: string };
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('nothing was changed');
    expect(failed.stderr).toMatch(
      /server\/0002-ocr-and-mixed-search\.patch: server\/src\/services\/search\.service\.ts, hunk @@ -\d+,\d+ \+\d+,\d+ @@/,
    );
    expect(appModule()).toBe(before);
    expect(existsSync(join(immich, 'server', 'immich-ai'))).toBe(false);
    const check = (await patch('--check')) as { code: number; stdout: string };
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(
      /^conflict server\/0002-ocr-and-mixed-search\.patch: server\/src\/services\/search\.service\.ts, hunk/m,
    );
  });

  it('refuses a tree that is not Immich v2.4.1', async () => {
    const manifest = join(immich, 'server', 'package.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"version": "2.4.1"', '"version": "2.5.0"'));
    const failed = (await patch()) as { code: number; stderr: string };
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('is Immich 2.5.0; these patches are for v2.4.1');
    appendFileSync(manifest, '');
    const notImmich = (await run(process.execPath, [CLI, 'patch', root]).catch(
      (error: { stderr: string }) => error,
    )) as { stderr: string };
    expect(notImmich.stderr).toContain('is not an Immich source tree');
  });
});
