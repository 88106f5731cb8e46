import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Immich's own web checks on the patched tree: svelte-check, tsc, and its unit tests (vitest) of every
 * web file our patches touch. The build itself ran in scripts/immich-server.sh prepare-web.
 */

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const PATCHES = join(ROOT, 'patches', 'v2.4.1', 'web');

/** web/src/... files the patches change. */
function patchedWebFiles(): string[] {
  return readdirSync(PATCHES)
    .filter((file) => file.endsWith('.patch'))
    .flatMap((file) =>
      [...readFileSync(join(PATCHES, file), 'utf8').matchAll(/^\+\+\+ b\/(web\/src\/\S+)$/gm)].map((match) => match[1]),
    );
}

describe("Immich's own checks on the patched web app", () => {
  const immich = execFileSync(join(ROOT, 'scripts', 'immich-server.sh'), ['web-dir'], { encoding: 'utf8' }).trim();
  const web = join(immich, 'web');
  const pnpm = (args: string[]) =>
    run('pnpm', args, { cwd: web, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, CI: '1', NO_COLOR: '1' } });

  it('passes svelte-check', async () => {
    const { stdout } = await pnpm(['run', 'check:svelte']);
    expect(stdout).toMatch(/svelte-check found 0 errors and 0 warnings/);
  }, 600_000);

  it('type-checks (tsc)', async () => {
    await expect(pnpm(['run', 'check:typescript'])).resolves.toBeDefined();
  }, 600_000);

  it('passes the unit tests beside every file the patches touch', async () => {
    const specs = patchedWebFiles()
      .map((file) => file.replace(/\.(svelte|ts)$/, '.spec.ts'))
      .filter((spec) => existsSync(join(immich, spec)))
      .map((spec) => spec.replace(/^web\//, ''));
    expect(specs).toEqual(
      expect.arrayContaining(['src/lib/utils.spec.ts', 'src/lib/components/asset-viewer/asset-viewer-nav-bar.spec.ts']),
    );
    const { stdout } = await pnpm(['exec', 'vitest', '--run', ...specs]);
    expect(stdout).toMatch(new RegExp(`Test Files {2}${specs.length} passed \\(${specs.length}\\)`));
  }, 600_000);
});
