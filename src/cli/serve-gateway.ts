import { Logger } from '@nestjs/common';
import { Command } from 'commander';
import { GatewayConfigError, loadGatewayConfig } from '../config/gateway.config';
import { createGatewayApp } from '../gateway/create-gateway-app';
import { RoutingTable } from '../gateway/routing-table';
import { exitByDeadline, parsePort } from './serve-common';

/**
 * `immich-ai serve gateway [--port N] [--config FILE]`: the ML endpoint Immich's MACHINE_LEARNING_URL
 * points at. Everything else comes from the environment (see src/config/gateway.config.ts); the two
 * flags only override PORT and GATEWAY_CONFIG.
 */
export function serveGatewayCommand(): Command {
  return new Command('gateway')
    .description('Serve the ML gateway: clip and ocr to the inference service, everything else to Immich ML')
    .option('--port <port>', 'port to listen on (overrides $PORT, default 8080)', parsePort)
    .option('--config <file>', 'JSON or YAML routing file (overrides $GATEWAY_CONFIG)')
    .action(async (options: { port?: number; config?: string }, command: Command) => {
      let config;
      try {
        config = loadGatewayConfig({
          ...process.env,
          ...(options.port !== undefined ? { PORT: String(options.port) } : {}),
          ...(options.config ? { GATEWAY_CONFIG: options.config } : {}),
        });
      } catch (error) {
        if (error instanceof GatewayConfigError) {
          command.error(error.message, { exitCode: 1, code: 'immich-ai.gateway.config' });
        }
        throw error;
      }

      const app = await createGatewayApp(config, { shutdownHooks: true });
      exitByDeadline(config.shutdownTimeoutMs);
      await app.listen(config.port, config.host);
      const logger = new Logger('Gateway');
      const table = new RoutingTable(config);
      for (const [task, name] of Object.entries(config.tasks)) {
        const route = table.routeFor(task);
        logger.log(`${task} -> ${name} (${route.protocol}): ${route.upstreams.join(', ')}`);
      }
      logger.log(`listening on ${await app.getUrl()}`);
    });
}
