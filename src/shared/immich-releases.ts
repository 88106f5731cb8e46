/**
 * The Immich releases immich-ai is built and tested against: each has a patch series in
 * patches/v<release>/ (test/patching checks the two lists agree), and the sidecar's tests run on each
 * release's schema.
 */
export const IMMICH_RELEASES = ['2.4.1', '3.1.0'] as const;
export type ImmichRelease = (typeof IMMICH_RELEASES)[number];

/** How immich-ai runs beside Immich: its own service (sidecar) or inside Immich's server (patched). */
export type InstallMode = 'sidecar' | 'patched';

export interface ReleaseSupport {
  status: 'ok' | 'warn' | 'fail';
  detail: string;
}

/** Whether Immich `version` (e.g. "3.1.0" or "v3.1.0") is supported in `mode`, in a sentence. */
export function releaseSupport(version: string, mode: InstallMode): ReleaseSupport {
  const release = version.replace(/^v/, '');
  const list = IMMICH_RELEASES.map((known) => `v${known}`).join(', ');
  if ((IMMICH_RELEASES as readonly string[]).includes(release)) {
    return {
      status: 'ok',
      detail: `Immich v${release}: supported ${mode === 'patched' ? `(patch series v${release})` : 'as a sidecar'}`,
    };
  }
  if (mode === 'patched') {
    return {
      status: 'fail',
      detail: `Immich v${release} has no patch series (supported: ${list}); \`immich-ai patch --check\` shows which hunks still apply`,
    };
  }
  const major = release.split('.')[0];
  const sameMajor = IMMICH_RELEASES.some((known) => known.split('.')[0] === major);
  return sameMajor
    ? {
        status: 'warn',
        detail: `Immich v${release} is untested (tested: ${list}); the sidecar reads Immich's tables, which a release may change`,
      }
    : { status: 'fail', detail: `Immich v${release} is not supported (supported: ${list})` };
}
