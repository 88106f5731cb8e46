import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { InferenceConfig } from '../../config/inference.config';
import { MT_PHOTOS_KEY_HEADER } from '../../shared/wire/mt-photos';
import { INFERENCE_CONFIG } from './inference.tokens';

/**
 * Contract 2's `api-key` header. Runs before the upload is read, so a wrong key costs no parsing.
 * Without API_AUTH_KEY every request is refused: an open OCR/CLIP endpoint on a LAN is a free GPU
 * for anyone, so the safe default is closed, and the message says how to open it.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(@Inject(INFERENCE_CONFIG) config: InferenceConfig) {
    this.expected = config.apiAuthKey ? digest(config.apiAuthKey) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) {
      throw new UnauthorizedException(
        'API_AUTH_KEY is not configured on the inference service: MT-Photos routes are disabled',
      );
    }
    const sent = context.switchToHttp().getRequest<Request>().header(MT_PHOTOS_KEY_HEADER);
    if (!sent) throw new UnauthorizedException(`missing ${MT_PHOTOS_KEY_HEADER} header`);
    // Digests have equal length whatever was sent, so the comparison time says nothing about the key.
    if (!timingSafeEqual(digest(sent), this.expected)) throw new UnauthorizedException(`wrong ${MT_PHOTOS_KEY_HEADER}`);
    return true;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
