import { Inject, Injectable } from '@nestjs/common';
import { Kysely, sql } from 'kysely';
import { DummyValue, GenerateSql } from '../database/generate-sql';
import { AUTH_DB } from '../database/database.tokens';
import { ExtensionDatabase } from '../database/schema';

export interface StoredCredential {
  userId: string;
  name: string;
  email: string;
  isAdmin: boolean;
  permissions: string[] | null;
  /** Sessions only: the PIN was entered and has not expired yet (Immich's Locked Folder). */
  elevated: boolean;
}

/** Immich's credentials (api_key, session), looked up by their stored hash as Immich does. */
@Injectable()
export class AuthRepository {
  constructor(@Inject(AUTH_DB) private readonly db: Kysely<ExtensionDatabase>) {}

  @GenerateSql({ params: [DummyValue.STRING] })
  getApiKey(hashedKey: string): Promise<StoredCredential | undefined> {
    return this.db
      .selectFrom('api_key')
      .innerJoin('user', 'user.id', 'api_key.userId')
      .select(['user.id as userId', 'user.name', 'user.email', 'user.isAdmin', 'api_key.permissions'])
      .select(sql<boolean>`false`.as('elevated'))
      .where('api_key.key', '=', hashedKey)
      .where('user.deletedAt', 'is', null)
      .executeTakeFirst();
  }

  @GenerateSql({ params: [DummyValue.STRING] })
  getSession(hashedToken: string): Promise<StoredCredential | undefined> {
    return this.db
      .selectFrom('session')
      .innerJoin('user', 'user.id', 'session.userId')
      .select(['user.id as userId', 'user.name', 'user.email', 'user.isAdmin', sql<null>`NULL`.as('permissions')])
      .select(sql<boolean>`coalesce("session"."pinExpiresAt" > now(), false)`.as('elevated'))
      .where('session.token', '=', hashedToken)
      .where('user.deletedAt', 'is', null)
      .where((eb) => eb.or([eb('session.expiresAt', 'is', null), eb('session.expiresAt', '>', sql<Date>`now()`)]))
      .executeTakeFirst();
  }
}
