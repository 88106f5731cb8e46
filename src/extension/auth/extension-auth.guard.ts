import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  AUTH_REQUIREMENT,
  AUTHENTICATOR,
  AuthContext,
  AuthRequest,
  AuthRequirement,
  Authenticator,
} from './auth.types';

/** Authenticates every extension route that carries @RequireAuth, through the host's Authenticator. */
@Injectable()
export class ExtensionAuthGuard implements CanActivate {
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
    const request = context.switchToHttp().getRequest<AuthRequest & { user?: AuthContext }>();
    request.user = await this.authenticator.authenticate(request, requirement);
    return true;
  }
}
