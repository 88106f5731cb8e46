import { Inject, Injectable } from '@nestjs/common';
import { Kysely, sql } from 'kysely';
import { EXTENSION_CONFIG, EXTENSION_DB } from '../database/database.tokens';
import type { ExtensionDatabase } from '../database/schema';
import type { ExtensionConfig } from '../../config/extension.config';

/** Where OCR and CLIP requests go: INFERENCE_URL when set, else what the host decides. */
export abstract class InferenceEndpoint {
  abstract url(): Promise<string>;
}

/** The sidecar's default: our inference service by its compose name. */
export const SIDECAR_DEFAULT_INFERENCE_URL = 'http://immich-ai-inference:8060';

@Injectable()
export class ConfiguredInferenceEndpoint extends InferenceEndpoint {
  constructor(@Inject(EXTENSION_CONFIG) private readonly config: ExtensionConfig) {
    super();
  }

  url(): Promise<string> {
    return Promise.resolve(this.config.inference.url ?? SIDECAR_DEFAULT_INFERENCE_URL);
  }
}

/** How long Immich's machine-learning URL is trusted before it is read again (it can change in the admin UI). */
const IMMICH_URL_TTL_MS = 60_000;

/**
 * Inside Immich: the machine-learning URL Immich itself is configured with (its admin settings, else
 * IMMICH_MACHINE_LEARNING_URL, else Immich's default), so a patched install needs no new setting.
 * With the gateway as that URL, OCR and CLIP reach our inference service through it.
 */
@Injectable()
export class ImmichMachineLearningEndpoint extends InferenceEndpoint {
  private cached?: { url: string; at: number };

  constructor(
    @Inject(EXTENSION_CONFIG) private readonly config: ExtensionConfig,
    @Inject(EXTENSION_DB) private readonly db: Kysely<ExtensionDatabase>,
  ) {
    super();
  }

  async url(): Promise<string> {
    if (this.config.inference.url) return this.config.inference.url;
    if (this.cached && Date.now() - this.cached.at < IMMICH_URL_TTL_MS) return this.cached.url;
    const { rows } = await sql<{ urls: unknown }>`
      SELECT value -> 'machineLearning' -> 'urls' AS urls FROM system_metadata WHERE key = 'system-config'`.execute(
      this.db,
    );
    const urls = rows[0]?.urls;
    const fromSettings = Array.isArray(urls) && typeof urls[0] === 'string' ? urls[0] : undefined;
    const url = (
      fromSettings ??
      process.env.IMMICH_MACHINE_LEARNING_URL ??
      'http://immich-machine-learning:3003'
    ).replace(/\/+$/, '');
    this.cached = { url, at: Date.now() };
    return url;
  }
}
