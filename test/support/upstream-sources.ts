import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The third-party files the tests read, by their name in the vendor folder (immich-v3.1.0.tar.xz,
 * run-immich.sh, immich-build-data, ...): scripts/upstream-sources.sh gives the vendor folder's file
 * when there is one (IMMICH_VENDOR_DIR, else ../shared/vendor), else upstream's, fetched at the pins
 * of scripts/upstream-sources.env, checked and cached (`npm run test:prepare` fetches them first).
 */

const ROOT = join(__dirname, '..', '..');
export const UPSTREAM_SOURCES_SCRIPT = join(ROOT, 'scripts', 'upstream-sources.sh');

const paths = new Map<string, string>();

export function upstreamSource(name: string): string {
  if (!paths.has(name)) {
    const path = execFileSync(UPSTREAM_SOURCES_SCRIPT, ['path', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    paths.set(name, path);
  }
  return paths.get(name)!;
}

/** scripts/upstream-sources.env: the pins, NAME -> value. */
export function upstreamPins(): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(ROOT, 'scripts', 'upstream-sources.env'), 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z0-9_]+=/.test(line))
      .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
}
