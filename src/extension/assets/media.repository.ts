import { constants } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { EXTENSION_CONFIG } from '../database/database.tokens';
import type { ExtensionConfig } from '../../config/extension.config';

/** Previews are about 1 MB; anything this large is not one and is not read into memory. */
const MAX_PREVIEW_BYTES = 64 * 1024 * 1024;

export type MediaFileProblem = 'outside' | 'missing' | 'unreadable' | 'not-a-file' | 'too-large';

export class MediaFileError extends Error {
  constructor(
    readonly problem: MediaFileProblem,
    message: string,
  ) {
    super(message);
  }
}

/** An opened preview file: the caller streams or reads it, and the handle closes with the stream. */
export interface PreviewFile {
  handle: FileHandle;
  size: number;
  contentType: string;
}

/**
 * Immich's preview files, read from IMMICH_MEDIA_LOCATION. Paths are resolved through symbolic
 * links before they are opened, and one whose real place is outside that folder is refused, so
 * neither a row someone wrote by hand nor a link planted in the media folder makes us read
 * /etc/shadow.
 */
@Injectable()
export class MediaRepository {
  private readonly root: string;
  private realRoot?: Promise<string>;

  constructor(@Inject(EXTENSION_CONFIG) config: ExtensionConfig) {
    this.root = resolve(config.mediaLocation);
  }

  async openPreview(storedPath: string): Promise<PreviewFile> {
    const path = await this.realPathInside(storedPath);
    let handle: FileHandle;
    try {
      // O_NOFOLLOW: a link swapped in after realpath() is not followed either.
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      throw fileError(error);
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new MediaFileError('not-a-file', 'the preview is not a file');
      if (stats.size > MAX_PREVIEW_BYTES) {
        throw new MediaFileError('too-large', `the preview file is ${stats.size} bytes, too large for a preview`);
      }
      return { handle, size: stats.size, contentType: /\.webp$/i.test(path) ? 'image/webp' : 'image/jpeg' };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async readPreview(storedPath: string): Promise<Buffer> {
    const { handle } = await this.openPreview(storedPath);
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  /**
   * The real path of a stored media path, or a MediaFileError: outside the media folder (as written,
   * or once links are followed), missing, or unreadable.
   */
  private async realPathInside(storedPath: string): Promise<string> {
    const outside = (root: string, path: string) => {
      const inside = relative(root, path);
      return inside === '' || inside.startsWith('..') || isAbsolute(inside);
    };
    const refuse = () =>
      new MediaFileError(
        'outside',
        'the preview is outside IMMICH_MEDIA_LOCATION (mount Immich media at the same path as Immich does)',
      );
    const written = isAbsolute(storedPath) ? resolve(storedPath) : resolve(this.root, storedPath);
    if (outside(this.root, written)) throw refuse();
    const root = await (this.realRoot ??= realpath(this.root).catch((error: unknown) => {
      this.realRoot = undefined; // the folder may be mounted later
      throw fileError(error);
    }));
    let path: string;
    try {
      path = await realpath(written);
    } catch (error) {
      throw fileError(error);
    }
    if (outside(root, path)) throw refuse();
    return path;
  }
}

function fileError(error: unknown): MediaFileError {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT'
    ? new MediaFileError('missing', 'the preview file is missing')
    : new MediaFileError('unreadable', `the preview file cannot be read (${code ?? 'unknown error'})`);
}
