import { readFile } from 'node:fs/promises';
import { Inject, Injectable } from '@nestjs/common';
import { load as loadYaml } from 'js-yaml';
import { Kysely, sql } from 'kysely';
import { EXTENSION_CONFIG, EXTENSION_DB } from '../database/database.tokens';
import type { ExtensionDatabase } from '../database/schema';
import type { ExtensionConfig } from '../../config/extension.config';
import { immichMlUrls } from '../../shared/immich-ml-urls';

/** Where OCR and CLIP requests go: INFERENCE_URL when set, else what the host decides. */
export abstract class InferenceEndpoint {
  /** The URLs to try, in order: the next one is used when one cannot be reached (as Immich does). */
  abstract urls(): Promise<string[]>;
}

/** The sidecar's default: our inference service by its compose name. */
export const SIDECAR_DEFAULT_INFERENCE_URL = 'http://immich-ai-inference:8060';

@Injectable()
export class ConfiguredInferenceEndpoint extends InferenceEndpoint {
  constructor(@Inject(EXTENSION_CONFIG) private readonly config: ExtensionConfig) {
    super();
  }

  urls(): Promise<string[]> {
    return Promise.resolve([this.config.inference.url ?? SIDECAR_DEFAULT_INFERENCE_URL]);
  }
}

/** How long Immich's machine-learning URLs are trusted before they are read again (the admin UI can change them). */
const IMMICH_URL_TTL_MS = 60_000;

/**
 * Inside Immich: the machine-learning URLs Immich itself is configured with, read by Immich's own rule
 * (server/src/utils/config.ts, buildConfig): the config file IMMICH_CONFIG_FILE (JSON or YAML) when
 * there is one, else the settings saved from the admin UI, else Immich's default
 * (IMMICH_MACHINE_LEARNING_URL, else http://immich-machine-learning:3003); every URL of the list, in
 * order (immichMlUrls, the doctor's rule too). A patched install needs no setting of its own; with
 * the gateway as that URL, OCR and CLIP reach our inference service through it.
 */
@Injectable()
export class ImmichMachineLearningEndpoint extends InferenceEndpoint {
  private cached?: { urls: string[]; at: number };

  constructor(
    @Inject(EXTENSION_CONFIG) private readonly config: ExtensionConfig,
    @Inject(EXTENSION_DB) private readonly db: Kysely<ExtensionDatabase>,
  ) {
    super();
  }

  async urls(): Promise<string[]> {
    if (this.config.inference.url) return [this.config.inference.url];
    if (this.cached && Date.now() - this.cached.at < IMMICH_URL_TTL_MS) return this.cached.urls;
    const saved = await this.savedSettings();
    const { urls } = immichMlUrls(
      (saved as { machineLearning?: { urls?: unknown } } | undefined)?.machineLearning?.urls,
    );
    this.cached = { urls, at: Date.now() };
    return urls;
  }

  /** Immich's partial config: its config file when it has one, else what the admin UI saved. */
  private async savedSettings(): Promise<unknown> {
    const file = process.env.IMMICH_CONFIG_FILE;
    if (file) return loadYaml(await readFile(file, 'utf8'));
    const { rows } = await sql<{ value: unknown }>`
      SELECT value FROM system_metadata WHERE key = 'system-config'`.execute(this.db);
    return rows[0]?.value;
  }
}
