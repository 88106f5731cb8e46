/** Injection tokens of the inference app: its config and the engines it opens models with. */
export const INFERENCE_CONFIG = Symbol('INFERENCE_CONFIG');
export const INFERENCE_ENGINES = Symbol('INFERENCE_ENGINES');
