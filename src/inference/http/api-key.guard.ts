import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { InferenceConfig } from '../../config/inference.config';
import { markAuthenticated } from '../../shared/http/connection-guard';
import { MT_PHOTOS_KEY_HEADER } from '../../shared/wire/mt-photos';
import { INFERENCE_CONFIG } from './inference.tokens';

/**
 * The `api-key` header, checked before the upload is read so a wrong key costs no parsing. Digests
 * have equal length whatever was sent, so the comparison time says nothing about the key.
 */
abstract class KeyGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(config: InferenceConfig) {
    this.expected = config.apiAuthKey ? digest(config.apiAuthKey) : undefined;
  }

  /** What to do when API_AUTH_KEY is not set. */
  protected abstract withoutKey(): boolean;

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return this.withoutKey();
    const request = context.switchToHttp().getRequest<Request>();
    const sent = request.header(MT_PHOTOS_KEY_HEADER);
    if (!sent) throw new UnauthorizedException(`missing ${MT_PHOTOS_KEY_HEADER} header`);
    if (!timingSafeEqual(digest(sent), this.expected)) throw new UnauthorizedException(`wrong ${MT_PHOTOS_KEY_HEADER}`);
    markAuthenticated(request.socket);
    return true;
  }
}

/**
 * Contract 2's routes. Without API_AUTH_KEY every request is refused: an open OCR/CLIP endpoint on a
 * LAN is a free GPU for anyone, so the safe default is closed, and the message says how to open it.
 */
@Injectable()
export class ApiKeyGuard extends KeyGuard {
  constructor(@Inject(INFERENCE_CONFIG) config: InferenceConfig) {
    super(config);
  }

  protected withoutKey(): boolean {
    throw new UnauthorizedException(
      'API_AUTH_KEY is not configured on the inference service: MT-Photos routes are disabled',
    );
  }
}

/**
 * /predict: with API_AUTH_KEY set it needs the key too (the gateway sends it; Immich talks only to
 * the gateway). Without it /predict stays open, as Immich's own ML server is: bind the service to a
 * network only the gateway reaches.
 */
@Injectable()
export class PredictKeyGuard extends KeyGuard {
  constructor(@Inject(INFERENCE_CONFIG) config: InferenceConfig) {
    super(config);
  }

  protected withoutKey(): boolean {
    return true;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
