import { Logger } from '@nestjs/common';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import { Pool, type PoolClient } from 'pg';
import type { ExtensionDatabase } from './schema';

export interface DatabaseOptions {
  max?: number;
  applicationName?: string;
  /**
   * The longest one statement may run (Postgres' statement_timeout), and, a little later, how long the
   * client waits for any answer at all: a server that stops answering (a dead host, a lost NAT entry)
   * fails the query instead of holding the request forever. 0: no limit (migrations, bulk loads).
   */
  queryTimeoutMs?: number;
  /** How long to wait for a connection, from the pool or a new one, before failing (503 upstream). */
  connectTimeoutMs?: number;
  /** TLS to the server (DB_SSL_MODE); the URL's own sslmode applies when this is not given. */
  ssl?: false | { rejectUnauthorized: boolean };
}

/** Request traffic: a search takes milliseconds at a million documents; ten seconds is a sick server. */
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;
/** What the client waits past the server's own statement_timeout before it gives up on the connection. */
const CLIENT_GRACE_MS = 2_000;

/**
 * A connection pool to Immich's database. A connection that dies while idle (Postgres restarted) is
 * logged and replaced on next use; one whose query timed out or broke is closed instead of going back
 * to the pool (see EvictingPool), so the pool recovers by itself once the server answers again.
 * TCP keep-alive finds dead peers under idle connections.
 */
export function createDatabase(
  url: string,
  {
    max = 10,
    applicationName = 'immich-ai',
    queryTimeoutMs = DEFAULT_QUERY_TIMEOUT_MS,
    connectTimeoutMs = 5_000,
    ssl,
  }: DatabaseOptions = {},
): Kysely<ExtensionDatabase> {
  const logger = new Logger('Database');
  const pool = new Pool({
    connectionString: url,
    max,
    application_name: applicationName,
    connectionTimeoutMillis: connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(ssl !== undefined ? { ssl } : {}),
    ...(queryTimeoutMs > 0
      ? { statement_timeout: queryTimeoutMs, query_timeout: queryTimeoutMs + CLIENT_GRACE_MS }
      : {}),
  });
  pool.on('error', (error) => logger.warn(`idle database connection lost: ${error.message}`));
  return new Kysely<ExtensionDatabase>({ dialect: new PostgresDialect({ pool: new EvictingPool(pool) }) });
}

/** A pool to the database the configuration names (DB_URL or its parts, DB_SSL_MODE). */
export function connectDatabase(
  database: { url: string; ssl: false | { rejectUnauthorized: boolean } },
  options: Omit<DatabaseOptions, 'ssl'> = {},
): Kysely<ExtensionDatabase> {
  return createDatabase(database.url, { ...options, ssl: database.ssl });
}

/** Errors after which a connection cannot be trusted with another query. */
export function isBrokenConnection(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return (
    (!!code && ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08006', '08003'].includes(code)) ||
    /Query read timeout|Connection terminated|Client has encountered a connection error|not queryable/i.test(
      message ?? '',
    )
  );
}

/**
 * node-postgres' pool hands a client back to the pool after a client-side query timeout although
 * the query is still running on it (every later query waits behind it: after a few stalls, the
 * whole pool). Here such a client is destroyed and released with its error, which removes it. A
 * broken connection usually means the path to the server broke, so the idle connections opened
 * before it are suspect too: each is closed when next taken out, and a fresh one used instead.
 */
class EvictingPool implements PostgresPool {
  /** Bumped whenever a connection breaks; connections opened before that are not used again. */
  private generation = 0;
  private readonly born = new WeakMap<PoolClient, number>();

  constructor(private readonly pool: Pool) {}

  async connect(): Promise<PostgresPoolClient> {
    for (;;) {
      const client: PoolClient = await this.pool.connect();
      const born = this.born.get(client);
      if (born === undefined) this.born.set(client, this.generation);
      else if (born < this.generation) {
        client.release(new Error('opened before a connection broke'));
        continue;
      }
      return this.wrap(client);
    }
  }

  end(): Promise<void> {
    return this.pool.end();
  }

  private wrap(client: PoolClient): PostgresPoolClient {
    let broken: Error | undefined;
    const query = (...args: unknown[]): unknown => {
      const result = (client.query as (...a: unknown[]) => unknown)(...args);
      if (!(result instanceof Promise)) return result; // a cursor (Kysely's streaming)
      return result.catch((error: unknown) => {
        if (isBrokenConnection(error) && !broken) {
          broken = error as Error;
          this.generation++;
          (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
        }
        throw error;
      });
    };
    return { query: query as PostgresPoolClient['query'], release: () => client.release(broken) };
  }
}
