import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

/** Who is calling: the same shape Immich's own AuthGuard puts on `request.user`, so both hosts agree. */
export interface AuthContext {
  user: { id: string; name: string; email: string; isAdmin: boolean };
  apiKey?: { permissions: string[] };
  /** A session whose PIN was entered recently may see the Locked Folder (Immich's hasElevatedPermission). */
  session?: { hasElevatedPermission: boolean };
}

export interface AuthRequirement {
  /** An Immich permission (`asset.read`, `asset.update`, ...); API keys must grant it. */
  permission: string;
  admin?: boolean;
}

export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The request target, query string included (credentials may come as `?apiKey=`). */
  url?: string;
}

/**
 * Checks a request's credentials. The sidecar reads Immich's api_key and session tables itself; the
 * patched Immich server hands the request to Immich's own AuthService.
 */
export interface Authenticator {
  authenticate(request: AuthRequest, requirement: AuthRequirement): Promise<AuthContext>;
}

export const AUTHENTICATOR = Symbol('immich-ai:authenticator');
export const AUTH_REQUIREMENT = 'immich-ai:auth-requirement';

/** Marks a route as needing a signed-in caller with this permission. */
export const RequireAuth = (requirement: AuthRequirement) => SetMetadata(AUTH_REQUIREMENT, requirement);

/** The caller, as the guard found it. */
export const Auth = createParamDecorator((_: unknown, context: ExecutionContext): AuthContext => {
  return context.switchToHttp().getRequest<{ user: AuthContext }>().user;
});
