import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Immich's own checks on the patched tree: its type check (`pnpm check`, tsc over server/) and its
 * unit tests (vitest) of every server file our patches touch.
 */

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const PATCHES = join(ROOT, 'patches', 'v2.4.1', 'server');

/** server/src/... files the patches change (not the spec files themselves). */
export function patchedServerFiles(): string[] {
  return readdirSync(PATCHES)
    .filter((file) => file.endsWith('.patch'))
    .flatMap((file) =>
      [...readFileSync(join(PATCHES, file), 'utf8').matchAll(/^\+\+\+ b\/(server\/src\/\S+\.ts)$/gm)].map(
        (match) => match[1],
      ),
    )
    .filter((file) => !file.endsWith('.spec.ts'));
}

describe("Immich's own checks on the patched server", () => {
  const immich = execFileSync(join(ROOT, 'scripts', 'immich-server.sh'), ['patched-dir'], { encoding: 'utf8' }).trim();
  const server = join(immich, 'server');
  const pnpm = (args: string[]) =>
    run('pnpm', args, { cwd: server, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, CI: '1', NO_COLOR: '1' } });

  it('type-checks (pnpm check)', async () => {
    await expect(pnpm(['check'])).resolves.toBeDefined();
  }, 900_000);

  it('passes the unit tests of every file the patches touch', async () => {
    const specs = patchedServerFiles()
      .map((file) => file.replace(/\.ts$/, '.spec.ts'))
      .filter((spec) => existsSync(join(immich, spec)))
      .map((spec) => spec.replace(/^server\//, ''));
    expect(specs).toEqual(
      expect.arrayContaining([
        'src/services/search.service.spec.ts',
        'src/services/asset.service.spec.ts',
        'src/services/ocr.service.spec.ts',
        'src/services/server.service.spec.ts',
      ]),
    );
    const { stdout } = await pnpm(['exec', 'vitest', 'run', '--config', 'test/vitest.config.mjs', ...specs]);
    expect(stdout).toMatch(new RegExp(`Test Files {2}${specs.length} passed \\(${specs.length}\\)`));
  }, 900_000);
});
