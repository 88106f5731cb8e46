import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Which Immich release a test runs against, and that release's builds (scripts/immich-server.sh, one
 * cached tree per release). The sidecar suites run on TEST_IMMICH_VERSION's schema (default 3.1.0, the current major;
 * IMMICH_VERSION=2.4.1 runs them on v2.4.1's: npm run test:v2-schema); the end-to-end suites name their release themselves.
 */

import { IMMICH_RELEASES, type ImmichRelease } from '../../src/shared/immich-releases';

export { IMMICH_RELEASES, type ImmichRelease };

const ROOT = join(__dirname, '..', '..');

function release(value: string | undefined): ImmichRelease {
  const version = (value ?? '3.1.0') as ImmichRelease;
  if (!IMMICH_RELEASES.includes(version)) {
    throw new Error(`IMMICH_VERSION=${value}: the tests know Immich ${IMMICH_RELEASES.join(' and ')}`);
  }
  return version;
}

/** The release whose schema the sidecar suites run on. */
export const TEST_IMMICH_VERSION: ImmichRelease = release(process.env.IMMICH_VERSION);

/** scripts/immich-server.sh MODE for a release: the folder it prints. */
export function immichBuild(
  mode: 'dir' | 'patched-dir' | 'web-dir' | 'toolchain',
  version: ImmichRelease = TEST_IMMICH_VERSION,
): string {
  return execFileSync(join(ROOT, 'scripts', 'immich-server.sh'), [mode], {
    encoding: 'utf8',
    env: { ...process.env, IMMICH_VERSION: version },
  }).trim();
}

const paths = new Map<ImmichRelease, string>();

/** The environment that runs a release's Node (v3: Node 24 from the cache first on PATH). */
export function releaseEnv(version: ImmichRelease, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (!paths.has(version)) paths.set(version, immichBuild('toolchain', version));
  const first = paths.get(version);
  return first ? { ...env, PATH: `${first}:${env.PATH ?? ''}` } : { ...env };
}

/** Major version of a release, e.g. 3 for 3.1.0. */
export const major = (version: ImmichRelease): number => Number(version.split('.')[0]);
