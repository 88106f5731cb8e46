/** Immich's machine-learning URL when neither its settings nor IMMICH_MACHINE_LEARNING_URL name one (server/src/config.ts). */
export const IMMICH_DEFAULT_ML_URL = 'http://immich-machine-learning:3003';

export type ImmichMlUrlSource = 'saved settings' | 'IMMICH_MACHINE_LEARNING_URL' | "Immich's default";

/**
 * Immich's machine-learning URLs by Immich's own rule: the list its settings hold (the admin UI's, or
 * its config file's), else IMMICH_MACHINE_LEARNING_URL, else its default; in order, without trailing
 * slashes. Used by the doctor and by the extension inside Immich, which must agree.
 */
export function immichMlUrls(
  savedUrls: unknown,
  env: NodeJS.ProcessEnv = process.env,
): { urls: string[]; source: ImmichMlUrlSource } {
  const [urls, source]: [string[], ImmichMlUrlSource] =
    Array.isArray(savedUrls) && savedUrls.length > 0 && savedUrls.every((url) => typeof url === 'string')
      ? [savedUrls as string[], 'saved settings']
      : env.IMMICH_MACHINE_LEARNING_URL
        ? [[env.IMMICH_MACHINE_LEARNING_URL], 'IMMICH_MACHINE_LEARNING_URL']
        : [[IMMICH_DEFAULT_ML_URL], "Immich's default"];
  return { urls: urls.map((url) => url.replace(/\/+$/, '')), source };
}
