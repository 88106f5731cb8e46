import { Command, InvalidArgumentError } from 'commander';
import { type ExtensionConfig, loadExtensionConfig } from '../config/extension.config';
import { ConfigError } from '../config/parse-env';

/** What the commands share. */

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

/** The extension's settings from the environment; a bad value ends the command with the config's message. */
export function extensionConfigOrExit(command: Command, env: NodeJS.ProcessEnv = process.env): ExtensionConfig {
  try {
    return loadExtensionConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) command.error(error.message, { exitCode: 1, code: 'immich-ai.extension.config' });
    throw error;
  }
}

/** A whole number from 1 up (milliseconds, counts). */
export function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < 1) throw new InvalidArgumentError('expected a whole number from 1 up');
  return number;
}
