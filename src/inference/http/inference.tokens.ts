/** Injection tokens of the inference app: its config, the engines it opens models with, its upload memory. */
export const INFERENCE_CONFIG = Symbol('INFERENCE_CONFIG');
export const INFERENCE_ENGINES = Symbol('INFERENCE_ENGINES');
/** The ByteBudget of upload bytes all requests together may hold (UPLOAD_MEMORY_BYTES). */
export const UPLOAD_MEMORY = Symbol('UPLOAD_MEMORY');
