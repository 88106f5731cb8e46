import { Readable } from 'node:stream';
import { ByteBudget } from '../shared/http/byte-budget';
import { IncomingForm } from '../shared/http/incoming-form';
import { RequestContext } from './request-context';
import { callRoute } from './route-call';
import { RouteGroup } from './routing-table';
import { endToEndHeaders, serverError } from './upstream-answers';
import { UpstreamPool } from './upstream-pool';

export interface StreamedReply {
  status: number;
  headers: Record<string, string>;
  body: Readable;
}

/**
 * The common case (Immich sends one task per request, `entries` first): the raw request goes to the
 * route's upstream as it arrives and its answer comes back, both unchanged. The body is kept for a
 * second attempt only when the route has a second upstream to send it to, within `replay`.
 */
export async function forward(
  form: IncomingForm,
  group: RouteGroup,
  pool: UpstreamPool,
  replay: ByteBudget,
  ctx: RequestContext,
): Promise<StreamedReply> {
  ctx.mode = 'stream';
  const body = form.stream(pool.candidates().length > 1, replay);
  const headers: Record<string, string> = { 'content-type': form.contentType };
  if (form.contentLength !== undefined) headers['content-length'] = String(form.contentLength);

  const response = await callRoute(
    pool,
    group,
    ctx,
    async (upstream) => {
      const response = await upstream.client.request({
        method: 'POST',
        path: '/predict',
        headers,
        body: body.reader(),
        signal: ctx.signal,
      });
      if (response.status >= 500) throw await serverError(upstream, response);
      return response;
    },
    () => body.replayable,
  );
  return { status: response.status, headers: endToEndHeaders(response.headers), body: response.body };
}
