import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { EXTENSION_CONFIG } from '../database/database.tokens';
import type { ExtensionConfig } from '../../config/extension.config';

/** Previews are about 1 MB; anything this large is not one and is not read into memory. */
const MAX_PREVIEW_BYTES = 64 * 1024 * 1024;

export class MediaFileError extends Error {}

/**
 * Immich's preview files, read from IMMICH_MEDIA_LOCATION. A path the database gives that leads
 * outside that folder is refused, so a row someone wrote by hand cannot make us read /etc/shadow.
 */
@Injectable()
export class MediaRepository {
  private readonly root: string;

  constructor(@Inject(EXTENSION_CONFIG) config: ExtensionConfig) {
    this.root = resolve(config.mediaLocation);
  }

  /** The absolute path of a stored media path, or a MediaFileError when it is outside the media folder. */
  resolve(storedPath: string): string {
    const path = isAbsolute(storedPath) ? resolve(storedPath) : resolve(this.root, storedPath);
    const inside = relative(this.root, path);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      throw new MediaFileError(
        'the preview is outside IMMICH_MEDIA_LOCATION (mount Immich media at the same path as Immich does)',
      );
    }
    return path;
  }

  async readPreview(storedPath: string): Promise<Buffer> {
    const path = this.resolve(storedPath);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new MediaFileError(
        code === 'ENOENT' ? 'the preview file is missing' : `the preview file cannot be read (${code})`,
      );
    }
    if (size > MAX_PREVIEW_BYTES)
      throw new MediaFileError(`the preview file is ${size} bytes, too large for a preview`);
    return readFile(path);
  }
}
