import { DEFAULT_TASK, GatewayConfig, GatewayRouteConfig } from '../config/gateway.config';

/** One named route: where its tasks go and how they are spoken to. */
export interface Route extends GatewayRouteConfig {
  name: string;
}

/** The tasks of one request that go to the same route, so they travel in one upstream request. */
export interface RouteGroup {
  route: Route;
  tasks: string[];
}

/**
 * Task -> route, from the config. This is the one place that answers "where does `ocr` go": by default
 * `clip` and `ocr` go to the inference service and everything else (`facial-recognition`, tasks Immich
 * adds later) to Immich ML, passed through unchanged.
 */
export class RoutingTable {
  readonly routes: Route[];
  private readonly byTask = new Map<string, Route>();
  private readonly fallback: Route;

  constructor(config: Pick<GatewayConfig, 'routes' | 'tasks'>) {
    const byName = new Map(Object.entries(config.routes).map(([name, route]) => [name, { ...route, name }]));
    this.routes = [...byName.values()];
    for (const [task, name] of Object.entries(config.tasks)) {
      const route = byName.get(name);
      if (!route) throw new Error(`task ${task} names route "${name}", which is not configured`);
      this.byTask.set(task, route);
    }
    const fallback = this.byTask.get(DEFAULT_TASK);
    if (!fallback) throw new Error(`the routing table needs a "${DEFAULT_TASK}" task`);
    this.fallback = fallback;
  }

  routeFor(task: string): Route {
    return (task !== DEFAULT_TASK && this.byTask.get(task)) || this.fallback;
  }

  /** Splits a request's tasks by route, keeping the order in which the tasks came. */
  split(tasks: string[]): RouteGroup[] {
    const groups = new Map<Route, string[]>();
    for (const task of tasks) {
      const route = this.routeFor(task);
      groups.set(route, [...(groups.get(route) ?? []), task]);
    }
    return [...groups].map(([route, routeTasks]) => ({ route, tasks: routeTasks }));
  }
}
