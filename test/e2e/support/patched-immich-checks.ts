import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImmichRelease, immichBuild, releaseEnv } from '../../support/immich-release';

/**
 * Immich's own checks on a patched tree: its type check (`pnpm check`, tsc over server/) and its unit
 * tests (vitest) of every server file the release's series touches, with that release's Node and pnpm.
 */

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');

/** server/src/... files a release's series changes or adds (not the spec files themselves). */
export function patchedServerFiles(version: ImmichRelease): string[] {
  const patches = join(ROOT, 'patches', `v${version}`, 'server');
  return readdirSync(patches)
    .filter((file) => file.endsWith('.patch'))
    .flatMap((file) =>
      [...readFileSync(join(patches, file), 'utf8').matchAll(/^\+\+\+ b\/(server\/src\/\S+\.ts)$/gm)].map(
        (match) => match[1],
      ),
    )
    .filter((file) => !file.endsWith('.spec.ts'));
}

export function describeImmichChecks(version: ImmichRelease, expectedSpecs: string[]): void {
  describe(`Immich v${version}'s own checks on the patched server`, () => {
    const immich = immichBuild('patched-dir', version);
    const server = join(immich, 'server');
    const pnpm = (args: string[]) =>
      run('pnpm', args, {
        cwd: server,
        maxBuffer: 64 * 1024 * 1024,
        env: releaseEnv(version, { ...process.env, CI: '1', NO_COLOR: '1' }),
      });

    it('type-checks (pnpm check)', async () => {
      await expect(pnpm(['check'])).resolves.toBeDefined();
    }, 900_000);

    it('passes the unit tests of every file the patches touch', async () => {
      const specs = patchedServerFiles(version)
        .map((file) => file.replace(/\.ts$/, '.spec.ts'))
        .filter((spec) => existsSync(join(immich, spec)))
        .map((spec) => spec.replace(/^server\//, ''));
      expect(specs).toEqual(expect.arrayContaining(expectedSpecs));
      const { stdout } = await pnpm(['exec', 'vitest', 'run', '--config', 'test/vitest.config.mjs', ...specs]);
      expect(stdout).toMatch(new RegExp(`Test Files {2}${specs.length} passed \\(${specs.length}\\)`));
    }, 900_000);
  });
}
