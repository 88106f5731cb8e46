/** How long a client may take, and how many may be connected: the same settings for both services. */
export interface HttpServerSettings {
  /** HEADERS_TIMEOUT_MS: the request line and headers must arrive within this. */
  headersTimeoutMs: number;
  /** UPLOAD_TIMEOUT_MS: the whole request, body included, must arrive within this (408 otherwise). */
  uploadTimeoutMs: number;
  /** KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /**
   * MAX_CONNECTIONS: at this many, a new connection replaces the oldest one that is neither
   * authenticated nor waiting for an answer, or is closed (src/shared/http/connection-guard.ts).
   */
  maxConnections: number;
  /**
   * MAX_CONNECTIONS_PER_CLIENT: connections one client address may hold; 0 = no limit. Behind a
   * reverse proxy every client has the proxy's address: raise it there (or trust the proxy's limits).
   */
  maxConnectionsPerClient: number;
}

/**
 * Defaults sized for Immich's traffic: previews of about 1 MB on a LAN arrive in well under a
 * second, so 30 s for a whole request leaves a slow Wi-Fi link room and still cuts off a client that
 * sends a byte every few seconds; Immich keeps a handful of connections, so 256 is generous.
 */
export const HTTP_SERVER_DEFAULTS: HttpServerSettings = {
  headersTimeoutMs: 10_000,
  uploadTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
  maxConnectionsPerClient: 64,
};
