import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImmichRelease, immichBuild, releaseEnv } from '../../support/immich-release';

/**
 * Immich's own web checks on a patched tree: svelte-check, tsc, and its unit tests (vitest) of every
 * web file the release's series touches, with that release's Node and pnpm. The build itself ran in
 * scripts/immich-server.sh prepare-web.
 */

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');

/** web/src/... files a release's series changes. */
function patchedWebFiles(version: ImmichRelease): string[] {
  const patches = join(ROOT, 'patches', `v${version}`, 'web');
  return readdirSync(patches)
    .filter((file) => file.endsWith('.patch'))
    .flatMap((file) =>
      [...readFileSync(join(patches, file), 'utf8').matchAll(/^\+\+\+ b\/(web\/src\/\S+)$/gm)].map((match) => match[1]),
    );
}

export function describeWebChecks(version: ImmichRelease, expectedSpecs: string[]): void {
  describe(`Immich v${version}'s own checks on the patched web app`, () => {
    const immich = immichBuild('web-dir', version);
    const web = join(immich, 'web');
    const pnpm = (args: string[]) =>
      run('pnpm', args, {
        cwd: web,
        maxBuffer: 64 * 1024 * 1024,
        env: releaseEnv(version, { ...process.env, CI: '1', NO_COLOR: '1' }),
      });

    it('passes svelte-check', async () => {
      const { stdout } = await pnpm(['run', 'check:svelte']);
      expect(stdout).toMatch(/svelte-check found 0 errors and 0 warnings/);
    }, 600_000);

    it('type-checks (tsc)', async () => {
      await expect(pnpm(['run', 'check:typescript'])).resolves.toBeDefined();
    }, 600_000);

    it('passes the unit tests beside every file the patches touch', async () => {
      const specs = patchedWebFiles(version)
        .map((file) => file.replace(/\.(svelte|ts)$/, '.spec.ts'))
        .filter((spec) => existsSync(join(immich, spec)))
        .map((spec) => spec.replace(/^web\//, ''));
      expect(specs).toEqual(expect.arrayContaining(expectedSpecs));
      const { stdout } = await pnpm(['exec', 'vitest', '--run', ...specs]);
      expect(stdout).toMatch(new RegExp(`Test Files {2}${specs.length} passed \\(${specs.length}\\)`));
    }, 600_000);
  });
}
