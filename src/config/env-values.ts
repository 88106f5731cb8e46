import { z } from 'zod';
import { HTTP_SERVER_DEFAULTS, type HttpServerSettings } from '../shared/http/server-settings';

/** Value schemas for environment variables, shared by every service's config. */

/** A whole number in [min, max], written in decimal. */
export const envInteger = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** true/false, 1/0, yes/no, on/off, any case. */
export const envBoolean = z
  .string()
  .trim()
  .toLowerCase()
  .refine((value) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(value), {
    message: 'expected true or false',
  })
  .transform((value) => ['true', '1', 'yes', 'on'].includes(value));

/**
 * The HTTP settings both services read (src/shared/http/http-server.ts has their meaning and defaults),
 * plus the cap on upload bytes held in memory. Each is optional; the defaults apply when unset.
 */
export const httpServerEnv = {
  HEADERS_TIMEOUT_MS: envInteger(1, 600_000).optional(),
  UPLOAD_TIMEOUT_MS: envInteger(1, 86_400_000).optional(),
  KEEP_ALIVE_TIMEOUT_MS: envInteger(1, 600_000).optional(),
  MAX_CONNECTIONS: envInteger(1, 1_000_000).optional(),
  MAX_CONNECTIONS_PER_CLIENT: envInteger(0, 1_000_000).optional(),
  UPLOAD_MEMORY_BYTES: envInteger(1).optional(),
  SHUTDOWN_TIMEOUT_MS: envInteger(0, 86_400_000).optional(),
};

type HttpServerEnv = { [K in keyof typeof httpServerEnv]?: number };

/** Default for UPLOAD_MEMORY_BYTES: a few hundred previews, or five uploads at the 50 MiB limit. */
const DEFAULT_UPLOAD_MEMORY_BYTES = 256 * 1024 * 1024;

/** The HTTP settings from parsed variables; `problems` gets what cannot work together. */
export function httpServerSettings(
  e: HttpServerEnv,
  maxUploadBytes: number,
  problems: string[],
): { http: HttpServerSettings; uploadMemoryBytes: number; shutdownTimeoutMs: number } {
  const http: HttpServerSettings = {
    headersTimeoutMs: e.HEADERS_TIMEOUT_MS ?? HTTP_SERVER_DEFAULTS.headersTimeoutMs,
    uploadTimeoutMs: e.UPLOAD_TIMEOUT_MS ?? HTTP_SERVER_DEFAULTS.uploadTimeoutMs,
    keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS ?? HTTP_SERVER_DEFAULTS.keepAliveTimeoutMs,
    maxConnections: e.MAX_CONNECTIONS ?? HTTP_SERVER_DEFAULTS.maxConnections,
    maxConnectionsPerClient: e.MAX_CONNECTIONS_PER_CLIENT ?? HTTP_SERVER_DEFAULTS.maxConnectionsPerClient,
  };
  // Node refuses a header deadline past the whole request's.
  if (http.headersTimeoutMs > http.uploadTimeoutMs) {
    problems.push(
      `HEADERS_TIMEOUT_MS=${http.headersTimeoutMs}: must not exceed UPLOAD_TIMEOUT_MS (${http.uploadTimeoutMs})`,
    );
  }
  const uploadMemoryBytes = e.UPLOAD_MEMORY_BYTES ?? Math.max(DEFAULT_UPLOAD_MEMORY_BYTES, maxUploadBytes);
  if (uploadMemoryBytes < maxUploadBytes) {
    problems.push(
      `UPLOAD_MEMORY_BYTES=${uploadMemoryBytes}: must be at least MAX_UPLOAD_BYTES (${maxUploadBytes}), ` +
        'or no upload of the largest allowed size could ever be read',
    );
  }
  return { http, uploadMemoryBytes, shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS ?? 30_000 };
}
