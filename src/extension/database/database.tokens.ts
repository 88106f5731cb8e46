/** Injection token for the Kysely instance the host provides (the sidecar's own pool, or Immich's). */
export const EXTENSION_DB = Symbol('immich-ai:kysely');
/** Injection token for the extension's resolved config (ExtensionConfig). */
export const EXTENSION_CONFIG = Symbol('immich-ai:config');
/** Injection token for the segmenter chosen at start (zhparser in the database, or jieba in the app). */
export const SEGMENTER = Symbol('immich-ai:segmenter');
/** The Kysely instance credentials are checked on (the sidecar's small pool of its own; else EXTENSION_DB). */
export const AUTH_DB = Symbol('immich-ai:auth-kysely');
