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
  /** Whether Immich stores the hashes as raw bytes (v3: bytea) or base64 text (v2: varchar). */
  private bytea?: Promise<boolean>;

  constructor(@Inject(AUTH_DB) private readonly db: Kysely<ExtensionDatabase>) {}

  /** A base64 SHA-256 hash as the column holds it: the text itself (v2), or its bytes (v3). */
  private async stored(hash: string) {
    this.bytea ??= sql<{ bytea: boolean }>`
      SELECT data_type = 'bytea' AS bytea FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'api_key' AND column_name = 'key'`
      .execute(this.db)
      .then(({ rows }) => rows[0]?.bytea === true);
    return (await this.bytea) ? sql<string>`${Buffer.from(hash, 'base64')}` : hash;
  }

  @GenerateSql({ params: [DummyValue.STRING] })
  async getApiKey(hashedKey: string): Promise<StoredCredential | undefined> {
    const key = await this.stored(hashedKey);
    return this.db
      .selectFrom('api_key')
      .innerJoin('user', 'user.id', 'api_key.userId')
      .select(['user.id as userId', 'user.name', 'user.email', 'user.isAdmin', 'api_key.permissions'])
      .select(sql<boolean>`false`.as('elevated'))
      .where('api_key.key', '=', key)
      .where('user.deletedAt', 'is', null)
      .executeTakeFirst();
  }

  @GenerateSql({ params: [DummyValue.STRING] })
  async getSession(hashedToken: string): Promise<StoredCredential | undefined> {
    const token = await this.stored(hashedToken);
    return this.db
      .selectFrom('session')
      .innerJoin('user', 'user.id', 'session.userId')
      .select(['user.id as userId', 'user.name', 'user.email', 'user.isAdmin', sql<null>`NULL`.as('permissions')])
      .select(sql<boolean>`coalesce("session"."pinExpiresAt" > now(), false)`.as('elevated'))
      .where('session.token', '=', token)
      .where('user.deletedAt', 'is', null)
      .where((eb) => eb.or([eb('session.expiresAt', 'is', null), eb('session.expiresAt', '>', sql<Date>`now()`)]))
      .executeTakeFirst();
  }
}
