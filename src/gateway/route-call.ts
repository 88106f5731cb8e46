import { RequestContext } from './request-context';
import { RouteGroup } from './routing-table';
import { Upstream, UpstreamPool } from './upstream-pool';

/**
 * One call to a route's pool that records the upstreams tried, for the access log and the deadline
 * message (which names the upstream being waited on by its public name).
 */
export async function callRoute<T>(
  pool: UpstreamPool,
  group: RouteGroup,
  ctx: RequestContext,
  attempt: (upstream: Upstream) => Promise<T>,
  replayable: () => boolean = () => true,
): Promise<T> {
  const trail: string[] = [];
  try {
    return await pool.call(
      (upstream) => {
        ctx.current = upstream.label;
        return attempt(upstream);
      },
      { label: group.tasks.join('+'), replayable, trail },
    );
  } finally {
    ctx.current = undefined;
    ctx.upstreams.push(trail.join(' -> ') || `${group.route.name} (no upstream tried)`);
  }
}
