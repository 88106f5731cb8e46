import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { markAuthenticated } from '../../shared/http/connection-guard';
import { FairShare } from './fair-share';
import {
  AUTH_REQUIREMENT,
  AUTHENTICATOR,
  AuthContext,
  AuthRequest,
  AuthRequirement,
  Authenticator,
} from './auth.types';

/**
 * Authenticates every extension route that carries @RequireAuth, through the host's Authenticator,
 * then waits for the caller's fair share of the database (fair-share.ts).
 */
@Injectable()
export class ExtensionAuthGuard implements CanActivate {
  private readonly fairShare = new FairShare();

  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const requirement = this.reflector.getAllAndOverride<AuthRequirement | undefined>(AUTH_REQUIREMENT, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!requirement) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<AuthRequest & { user?: AuthContext; socket?: object }>();
    request.user = await this.authenticator.authenticate(request, requirement);
    // This connection belongs to someone with credentials: a flood of anonymous ones cannot push it out.
    markAuthenticated(request.socket);
    await this.fairShare.admit(
      request.user.user.id,
      http.getResponse<{ once(event: 'close', listener: () => void): unknown }>(),
    );
    return true;
  }
}
