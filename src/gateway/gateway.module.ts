import { DynamicModule, Inject, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GatewayConfig } from '../config/gateway.config';
import { ByteBudget } from '../shared/http/byte-budget';
import { GracefulShutdown, SHUTDOWN_TIMEOUT_MS } from '../shared/http/graceful-shutdown';
import { GatewayExceptionFilter } from './gateway-exception.filter';
import { GatewayMetrics } from './gateway-metrics';
import { PredictController } from './predict.controller';
import { GATEWAY_CONFIG, PredictService, UPLOAD_MEMORY } from './predict.service';
import { RoutingTable } from './routing-table';
import { UpstreamPools } from './upstream-pool';

/** The gateway app: one controller, the routing table, and a pool of upstreams per route. */
@Module({})
export class GatewayModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(UpstreamPools) private readonly pools: UpstreamPools) {}

  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [PredictController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: SHUTDOWN_TIMEOUT_MS, useValue: config.shutdownTimeoutMs },
        { provide: UPLOAD_MEMORY, useFactory: () => new ByteBudget(config.uploadMemoryBytes) },
        { provide: APP_FILTER, useClass: GatewayExceptionFilter },
        { provide: RoutingTable, useFactory: () => new RoutingTable(config) },
        { provide: GatewayMetrics, useFactory: () => new GatewayMetrics(config.accessLog) },
        {
          provide: UpstreamPools,
          useFactory: (table: RoutingTable, metrics: GatewayMetrics) =>
            new UpstreamPools(table.routes, config.health, metrics),
          inject: [RoutingTable, GatewayMetrics],
        },
        GracefulShutdown,
        PredictService,
      ],
    };
  }

  onApplicationBootstrap(): void {
    this.pools.start();
  }

  /** Runs after GracefulShutdown has let the requests in flight finish (or cut them at the deadline). */
  async onApplicationShutdown(): Promise<void> {
    await this.pools.stop();
  }
}
