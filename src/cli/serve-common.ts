import { InvalidArgumentError } from 'commander';

/** What `serve inference` and `serve gateway` share. */

/**
 * SIGTERM/SIGINT close the app gracefully (requests in flight get SHUTDOWN_TIMEOUT_MS, then their
 * connections are closed); should closing itself hang past that (an upstream pool that will not
 * close), the process exits anyway a few seconds later.
 */
export function exitByDeadline(shutdownTimeoutMs: number): void {
  const arm = () => setTimeout(() => process.exit(1), shutdownTimeoutMs + 5_000).unref();
  process.once('SIGTERM', arm);
  process.once('SIGINT', arm);
}

/** --port: a whole number 0-65535 (0 picks a free port). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return port;
}
