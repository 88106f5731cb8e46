import { DynamicModule, Inject, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { GatewayConfig } from '../config/gateway.config';
import { GatewayMetrics } from './gateway-metrics';
import { PredictController } from './predict.controller';
import { GATEWAY_CONFIG, PredictService } from './predict.service';
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
        { provide: RoutingTable, useFactory: () => new RoutingTable(config) },
        { provide: GatewayMetrics, useFactory: () => new GatewayMetrics(config.accessLog) },
        {
          provide: UpstreamPools,
          useFactory: (table: RoutingTable, metrics: GatewayMetrics) =>
            new UpstreamPools(table.routes, config.health, metrics),
          inject: [RoutingTable, GatewayMetrics],
        },
        PredictService,
      ],
    };
  }

  onApplicationBootstrap(): void {
    this.pools.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pools.stop();
  }
}
