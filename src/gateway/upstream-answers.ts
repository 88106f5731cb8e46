import { IncomingHttpHeaders } from 'node:http';
import { UpstreamFailure } from './gateway-errors';
import { UpstreamResponse } from './upstream-client';
import { Upstream } from './upstream-pool';

/** A parsed JSON answer of one upstream. */
export type Answer = Record<string, unknown>;

/** Headers that describe one connection, not the message: never copied from an upstream's answer. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** A 5xx: drained (so the connection can be reused) and described, with the start of its body. */
export async function serverError(upstream: Upstream, response: UpstreamResponse): Promise<UpstreamFailure> {
  const text = await snippet(upstream, response);
  return new UpstreamFailure('server-error', upstream.label, `answered ${response.status}${text}`);
}

/** An Immich-protocol answer: a JSON object on 2xx; a 4xx is the upstream's verdict on the request. */
export async function readJson(upstream: Upstream, response: UpstreamResponse): Promise<Answer> {
  if (response.status >= 500) throw await serverError(upstream, response);
  if (response.status >= 300) {
    const text = await snippet(upstream, response);
    throw new UpstreamFailure('rejected', upstream.label, `answered ${response.status}${text}`, response.status);
  }
  const text = await upstream.client.text(response);
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) return json as Answer;
  } catch {
    // falls through to the error below
  }
  throw new UpstreamFailure(
    'bad-answer',
    upstream.label,
    `answered ${response.status} with a body that is not a JSON object`,
  );
}

/** The start of an error answer, on one line: the upstream's own words for what went wrong. */
async function snippet(upstream: Upstream, response: UpstreamResponse): Promise<string> {
  try {
    const text = (await upstream.client.text(response)).trim().replace(/\s+/g, ' ');
    return text ? `: ${text.length > 300 ? `${text.slice(0, 300)}...` : text}` : '';
  } catch {
    return '';
  }
}

export function endToEndHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
