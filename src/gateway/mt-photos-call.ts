import type { ImageInfo } from '../shared/image/decode';
import { badRequest, unprocessable } from '../shared/http/http-error';
import type { FormParts } from '../shared/http/incoming-form';
import type { RawEntries } from '../shared/wire/entries';
import type { OcrEntry } from '../shared/wire/immich-ml';
import { MT_PHOTOS_KEY_HEADER, type MtClipTextRequest } from '../shared/wire/mt-photos';
import { UpstreamFailure } from './gateway-errors';
import { MtPhotosAnswerError, convertClip, convertOcr, parseMtClip, parseMtOcr } from './mt-photos-adapter';
import { OutgoingForm, outgoingForm } from './outgoing-form';
import { RequestContext } from './request-context';
import { callRoute } from './route-call';
import { RouteGroup } from './routing-table';
import { Answer, readJson } from './upstream-answers';
import { Upstream, UpstreamPool } from './upstream-pool';

/**
 * An MT-Photos upstream: one call per task (it has no multi-task endpoint), its answers converted to
 * Immich's shapes. `size` is the image's size (MT-Photos answers in pixels and does not say it).
 */
export async function callMtPhotos(
  pool: UpstreamPool,
  group: RouteGroup,
  entries: RawEntries,
  parts: FormParts,
  size: ImageInfo | undefined,
  ctx: RequestContext,
  signal: AbortSignal,
): Promise<Answer> {
  const apiKey = group.route.apiKey ?? '';
  const answers = await Promise.all(
    group.tasks.map(async (task): Promise<Answer> => {
      const one: RouteGroup = { route: group.route, tasks: [task] };
      if (task === 'ocr') {
        if (!parts.image || !size) throw badRequest('ocr: needs an "image" file');
        const body = outgoingForm([{ name: 'file', data: parts.image, filename: 'blob' }]);
        const entry = entries.ocr as unknown as OcrEntry;
        const ocr = await callRoute(pool, one, ctx, (upstream) =>
          mtPost(upstream, '/ocr', body, apiKey, signal, (answer) => convertOcr(parseMtOcr(answer), size, entry)),
        );
        return { ocr };
      }
      if (task === 'clip') {
        const visual = 'visual' in entries.clip;
        if (visual && !parts.image) throw badRequest('clip: a visual request needs an "image" file');
        if (!visual && parts.text === undefined) throw badRequest('clip: a textual request needs a "text" field');
        const body = visual
          ? outgoingForm([{ name: 'file', data: parts.image!, filename: 'blob' }])
          : {
              contentType: 'application/json',
              text: JSON.stringify({ text: parts.text! } satisfies MtClipTextRequest),
            };
        const path = visual ? '/clip/img' : '/clip/txt';
        const clip = await callRoute(pool, one, ctx, (upstream) =>
          mtPost(upstream, path, body, apiKey, signal, (answer) => convertClip(parseMtClip(answer))),
        );
        return { clip };
      }
      // The config refuses this at start; kept as a clear error rather than a silent drop.
      throw unprocessable(`${task}: the mt-photos protocol has no ${task} endpoint`);
    }),
  );
  return Object.assign({}, ...answers);
}

/** One MT-Photos call, its answer checked and converted: a malformed one is the upstream's fault (502). */
async function mtPost<T>(
  upstream: Upstream,
  path: string,
  body: OutgoingForm | { contentType: string; text: string },
  apiKey: string,
  signal: AbortSignal,
  convert: (body: unknown) => T,
): Promise<T> {
  const headers: Record<string, string> = { 'content-type': body.contentType, [MT_PHOTOS_KEY_HEADER]: apiKey };
  if ('chunks' in body) headers['content-length'] = String(body.contentLength);
  const response = await upstream.client.request({
    method: 'POST',
    path,
    headers,
    body: 'chunks' in body ? body.chunks : body.text,
    signal,
  });
  const json = await readJson(upstream, response);
  try {
    return convert(json);
  } catch (error) {
    if (error instanceof MtPhotosAnswerError) throw new UpstreamFailure('bad-answer', upstream.label, error.message);
    throw error;
  }
}
