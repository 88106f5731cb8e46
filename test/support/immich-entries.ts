/**
 * The `entries` Immich v2.4.1 builds (server/src/repositories/machine-learning.repository.ts:
 * encodeImage, encodeText, ocr), with its default settings.
 */
export const immichEntries = {
  clipVisual: (modelName = 'ViT-B-16__openai') => ({ clip: { visual: { modelName } } }),
  clipTextual: (modelName = 'ViT-B-16__openai', options: { language?: string } = { language: 'zh-CN' }) => ({
    clip: { textual: { modelName, options } },
  }),
  ocr: (modelName = 'PP-OCRv5_mobile', minDetectionScore = 0.5, minRecognitionScore = 0.8, maxResolution = 736) => ({
    ocr: {
      detection: { modelName, options: { minScore: minDetectionScore, maxResolution } },
      recognition: { modelName, options: { minScore: minRecognitionScore } },
    },
  }),
};

/** The same, as constants, for tests that only need Immich's defaults. */
export const CLIP_VISUAL = immichEntries.clipVisual();
export const CLIP_TEXTUAL = immichEntries.clipTextual();
export const OCR_ENTRIES = immichEntries.ocr();
/** Faces stay with Immich's own ML server; the gateway routes them there. */
export const FACE_ENTRIES = {
  'facial-recognition': {
    detection: { modelName: 'buffalo_l', options: { minScore: 0.7 } },
    recognition: { modelName: 'buffalo_l' },
  },
};
