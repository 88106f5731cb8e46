import { createHash } from 'node:crypto';
import { ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { parse as parseCookie } from 'cookie';
import { AuthRepository, StoredCredential } from './auth.repository';
import { AuthContext, AuthRequest, AuthRequirement, Authenticator } from './auth.types';

/**
 * Immich v2.4.1's authentication, for the sidecar beside a stock Immich: an API key in `x-api-key`,
 * or a session token as `Authorization: Bearer`, `x-immich-user-token` or the `immich_access_token`
 * cookie. Both are stored as base64 SHA-256, so the lookup compares hashes, never the secret itself.
 */
@Injectable()
export class ImmichCredentialsAuthenticator implements Authenticator {
  constructor(private readonly repository: AuthRepository) {}

  async authenticate(request: AuthRequest, requirement: AuthRequirement): Promise<AuthContext> {
    const headers = request.headers;
    const session = header(headers, 'x-immich-user-token') ?? bearer(headers) ?? cookieToken(headers);
    const apiKey = header(headers, 'x-api-key');
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
      ...(permissions ? { apiKey: { permissions } } : {}),
    };
  }
}

const hash = (secret: string): string => createHash('sha256').update(secret).digest('base64');

function header(headers: AuthRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first ? first.slice(0, 1024) : undefined;
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
