import { IMAGE_ERROR_STATUS, type ImageInfo } from '../shared/image/decode';
import { HttpError } from '../shared/http/http-error';
import { IncomingForm, type FormParts } from '../shared/http/incoming-form';
import type { RawEntries } from '../shared/wire/entries';
import { callMtPhotos } from './mt-photos-call';
import { OutgoingPart, outgoingForm } from './outgoing-form';
import { RequestContext } from './request-context';
import { callRoute } from './route-call';
import { RouteGroup } from './routing-table';
import { Answer, readJson } from './upstream-answers';
import { UpstreamPools } from './upstream-pool';

/**
 * The other path: the form is parsed whole (one copy of the image), every route is called at once
 * with its own tasks (and MT-Photos routes with their own protocol), and the answers are merged into
 * one. One route failing fails the request: Immich wants all its tasks or an error.
 */
export async function splitAndCall(
  form: IncomingForm,
  entries: RawEntries,
  groups: RouteGroup[],
  pools: UpstreamPools,
  ctx: RequestContext,
): Promise<string> {
  ctx.mode = 'parsed';
  const parts = await ctx.race(form.parts());
  // MT-Photos answers in pixels and does not say the size: measure it (header only) before calling.
  const size =
    parts.image && groups.some((group) => group.route.protocol === 'mt-photos')
      ? await measure(parts.image, ctx.label)
      : undefined;

  // The request's own end (deadline, client gone) stops every call, with its reason.
  const all = new AbortController();
  const follow = (): void => all.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', follow, { once: true });
  try {
    const answers = await Promise.all(
      groups.map(async (group) => {
        try {
          const pool = pools.get(group.route);
          return group.route.protocol === 'immich'
            ? await callImmich(pools, group, entries, parts, ctx, all.signal)
            : await callMtPhotos(pool, group, entries, parts, size, ctx, all.signal);
        } catch (error) {
          all.abort(error);
          throw error;
        }
      }),
    );
    const merged: Answer = {};
    for (const answer of answers) {
      for (const [key, value] of Object.entries(answer)) if (!(key in merged)) merged[key] = value;
    }
    if (size) {
      merged.imageHeight ??= size.height;
      merged.imageWidth ??= size.width;
    }
    return JSON.stringify(merged);
  } finally {
    ctx.signal.removeEventListener('abort', follow);
  }
}

/** One Immich-protocol upstream, with the tasks of this route only. */
function callImmich(
  pools: UpstreamPools,
  group: RouteGroup,
  entries: RawEntries,
  parts: FormParts,
  ctx: RequestContext,
  signal: AbortSignal,
): Promise<Answer> {
  const subset = Object.fromEntries(group.tasks.map((task) => [task, entries[task]]));
  const payload: OutgoingPart = parts.image
    ? { name: 'image', data: parts.image, filename: 'blob' }
    : { name: 'text', value: parts.text ?? '' };
  const body = outgoingForm([{ name: 'entries', value: JSON.stringify(subset) }, payload]);
  return callRoute(pools.get(group.route), group, ctx, async (upstream) => {
    const response = await upstream.client.request({
      method: 'POST',
      path: '/predict',
      headers: { 'content-type': body.contentType, 'content-length': String(body.contentLength) },
      body: body.chunks,
      signal,
    });
    return readJson(upstream, response);
  });
}

/** The image's size from its header, with the statuses the inference service gives the same image. */
async function measure(image: Buffer, label: string): Promise<ImageInfo> {
  // Loaded on first use: libvips costs ~20 MB of RSS that a gateway without MT-Photos routes never needs.
  const { readImageInfo, ImageInputError } = await import('../shared/image/decode');
  try {
    return await readImageInfo(image);
  } catch (error) {
    if (!(error instanceof ImageInputError)) throw error;
    throw new HttpError(IMAGE_ERROR_STATUS[error.kind], `${label}: ${error.message}`);
  }
}
