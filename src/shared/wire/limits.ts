/**
 * What one /predict request may carry, for both services (the statuses are named once too, in
 * src/shared/http/http-error.ts and IMAGE_ERROR_STATUS in src/shared/image/decode.ts): the gateway refuses with these before it
 * calls anyone, and the inference service refuses with the same statuses, so a request gets one
 * answer whichever it reaches. Immich v2.4.1 sends one task, ~200 bytes of `entries`, a preview
 * image of about 1 MB or a search text of a few words: every limit is far above that.
 */
export const WIRE_LIMITS = {
  /** The `entries` field (JSON). Over it: 413. */
  entriesBytes: 64 * 1024,
  /** The `text` field. Over it: 413. The CLIP tokenizer reads only what can become its 52 tokens. */
  textBytes: 1024 * 1024,
  /** Form fields and files in one request (`entries`, `image` or `text`, a few spare). Over it: 413. */
  parts: 16,
  /** Tasks in one `entries` (Immich sends one; three exist). Over it: 422. */
  tasks: 8,
  /** Model types in one task (detection and recognition, visual or textual). Over it: 422. */
  modelsPerTask: 4,
  /** Characters of a model name. Over it: 422. */
  modelNameChars: 256,
  /**
   * OCR `maxResolution`: the detector's short side in pixels. Immich's settings page takes any
   * positive number; beyond this the detector's time and memory grow with no gain on a 1440 px
   * preview (images are never enlarged anyway). Over it: 422.
   */
  maxResolution: 2048,
} as const;
