import { createHash } from 'node:crypto';
import { ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { parse as parseCookie } from 'cookie';
import { AuthRepository, StoredCredential } from './auth.repository';
import { AuthContext, AuthRequest, AuthRequirement, Authenticator } from './auth.types';

/** Query parameters that carry credentials (Immich's ImmichQuery); the sidecar's query parser drops them. */
export const CREDENTIAL_QUERY_PARAMS = ['apiKey', 'sessionKey', 'key', 'slug'] as const;

/**
 * Immich's authentication, for the sidecar beside a stock Immich, looking where Immich looks and in
 * Immich's order: a session token (`x-immich-user-token`, `x-immich-session-token`, `?sessionKey=`,
 * `Authorization: Bearer`, the `immich_access_token` cookie), else an API key (`x-api-key`,
 * `?apiKey=`). Both are stored as base64 SHA-256, so the lookup compares hashes, never the secret
 * itself. Shared links (`x-immich-share-key`, `?key=`, slugs) grant no access to this API and are
 * refused by name, so a client does not mistake the refusal for a bad key.
 */
@Injectable()
export class ImmichCredentialsAuthenticator implements Authenticator {
  constructor(private readonly repository: AuthRepository) {}

  async authenticate(request: AuthRequest, requirement: AuthRequirement): Promise<AuthContext> {
    const headers = request.headers;
    const query = urlQuery(request.url);
    const shared =
      header(headers, 'x-immich-share-key') ??
      header(headers, 'x-immich-share-slug') ??
      query.get('key') ??
      query.get('slug');
    if (shared) throw new UnauthorizedException('Shared links cannot be used with this API: use an API key or sign in');
    const session =
      header(headers, 'x-immich-user-token') ??
      header(headers, 'x-immich-session-token') ??
      bounded(query.get('sessionKey')) ??
      bearer(headers) ??
      cookieToken(headers);
    const apiKey = header(headers, 'x-api-key') ?? bounded(query.get('apiKey'));
    let credential: StoredCredential | undefined;
    if (session) {
      credential = await this.repository.getSession(hash(session));
      if (!credential) throw new UnauthorizedException('Invalid user token');
    } else if (apiKey) {
      credential = await this.repository.getApiKey(hash(apiKey));
      if (!credential) throw new UnauthorizedException('Invalid API key');
    } else {
      throw new UnauthorizedException('Authentication required');
    }

    if (requirement.admin && !credential.isAdmin) throw new ForbiddenException('Forbidden');
    const permissions = credential.permissions;
    if (permissions && !permissions.includes('all') && !permissions.includes(requirement.permission)) {
      throw new ForbiddenException(`Missing required permission: ${requirement.permission}`);
    }
    return {
      user: { id: credential.userId, name: credential.name, email: credential.email, isAdmin: credential.isAdmin },
      ...(permissions ? { apiKey: { permissions } } : { session: { hasElevatedPermission: credential.elevated } }),
    };
  }
}

const hash = (secret: string): string => createHash('sha256').update(secret).digest('base64');

/** A secret longer than this is not one of Immich's (they are 32-byte tokens); hashing stays cheap. */
const bounded = (value: string | null | undefined): string | undefined => (value ? value.slice(0, 1024) : undefined);

function header(headers: AuthRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return bounded(Array.isArray(value) ? value[0] : value);
}

function urlQuery(url: string | undefined): URLSearchParams {
  const start = url?.indexOf('?') ?? -1;
  return new URLSearchParams(start >= 0 ? url!.slice(start + 1) : '');
}

function bearer(headers: AuthRequest['headers']): string | undefined {
  const value = header(headers, 'authorization');
  const match = value && /^Bearer\s+(\S+)$/i.exec(value);
  return match ? match[1] : undefined;
}

function cookieToken(headers: AuthRequest['headers']): string | undefined {
  const value = header(headers, 'cookie');
  return value ? parseCookie(value).immich_access_token || undefined : undefined;
}
