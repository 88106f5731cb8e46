import { Inject, Injectable, Logger } from '@nestjs/common';
import { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { GatewayConfig } from '../config/gateway.config';
import type { ImageInfo } from '../shared/image/decode';
import { OcrEntry } from '../shared/wire/immich-ml';
import { MT_PHOTOS_KEY_HEADER } from '../shared/wire/mt-photos';
import { GatewayError, UpstreamFailure, badRequest, tooLarge, unprocessable } from './gateway-errors';
import { ClientGoneError, FormParts, IncomingForm } from './incoming-form';
import { MtPhotosAnswerError, convertClip, convertOcr, parseMtClip, parseMtOcr } from './mt-photos-adapter';
import { OutgoingForm, OutgoingPart, outgoingForm } from './outgoing-form';
import { Entries, parseEntries } from './predict-entries';
import { ReplayBudget } from './request-body';
import { RouteGroup, RoutingTable } from './routing-table';
import { Upstream, UpstreamPool, UpstreamPools } from './upstream-pool';
import { UpstreamResponse } from './upstream-client';

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

/** What the controller sends back, and what the access log and metrics record about it. */
export interface PredictReply {
  status: number;
  headers: Record<string, string>;
  /** A JSON text, or an upstream's answer streamed through unchanged. */
  body: string | Readable;
  tasks: string[];
  upstreams: string[];
  mode?: 'stream' | 'parsed';
  /** Call once the answer is sent or the client has gone: frees the request's memory, timers and budget. */
  done(): void;
}

type Answer = Record<string, unknown>;

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

/**
 * Routes one /predict request: reads `entries`, then either forwards the raw body to one Immich-protocol
 * upstream as it arrives (the common case: Immich sends one task per request), or parses the form once
 * and calls each route (split requests, MT-Photos conversion), merging the answers into one.
 */
@Injectable()
export class PredictService {
  private readonly logger = new Logger('Gateway');
  private readonly budget: ReplayBudget;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly table: RoutingTable,
    private readonly pools: UpstreamPools,
  ) {
    this.budget = new ReplayBudget(config.replayBudgetBytes);
  }

  async predict(request: IncomingMessage, clientGone: AbortSignal): Promise<PredictReply> {
    const ctx = new RequestContext(this.config.requestTimeoutMs, clientGone);
    let form: IncomingForm | undefined;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      form?.dispose();
      ctx.finish();
    };
    try {
      form = new IncomingForm(request, { maxUploadBytes: this.config.maxUploadBytes });
      form.failed.catch((error: Error) => ctx.abort(error));
      const head = await ctx.race(form.head());
      const entries = parseEntries(head.entries);
      ctx.tasks = Object.keys(entries);
      if (!head.payload) throw badRequest('either an "image" file or a "text" field must be provided');

      const groups = this.table.split(ctx.tasks);
      const reply =
        groups.length === 1 && groups[0].route.protocol === 'immich' && head.streamable
          ? await this.forward(form, groups[0], ctx)
          : await this.parseAndCall(form, entries, groups, ctx);
      return { ...reply, tasks: ctx.tasks, upstreams: ctx.upstreams, mode: ctx.mode, done };
    } catch (error) {
      done();
      return { ...this.errorReply(error, ctx), tasks: ctx.tasks, upstreams: ctx.upstreams, mode: ctx.mode, done };
    }
  }

  /** Pipes the raw request to the route's upstream and its answer back, both unchanged. */
  private async forward(form: IncomingForm, group: RouteGroup, ctx: RequestContext): Promise<Reply> {
    ctx.mode = 'stream';
    const pool = this.pools.get(group.route);
    // Keeping the body only pays when there is a second upstream to send it to.
    const body = form.stream(pool.candidates().length > 1, this.budget);
    const headers: Record<string, string> = { 'content-type': form.contentType };
    if (form.contentLength !== undefined) headers['content-length'] = String(form.contentLength);

    const response = await this.call(
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

  /** Parses the whole form (one copy of the image), calls every route at once, merges the answers. */
  private async parseAndCall(
    form: IncomingForm,
    entries: Entries,
    groups: RouteGroup[],
    ctx: RequestContext,
  ): Promise<Reply> {
    ctx.mode = 'parsed';
    const parts = await ctx.race(form.parts());
    // MT-Photos answers in pixels and does not say the size: measure it (header only) before calling.
    const size =
      parts.image && groups.some((group) => group.route.protocol === 'mt-photos')
        ? await measure(parts.image, groups)
        : undefined;

    // One route failing fails the request (Immich wants all its tasks or an error): stop the others.
    // The request's own end (deadline, client gone) stops them too, with its reason.
    const all = new AbortController();
    const follow = (): void => all.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', follow, { once: true });
    try {
      const answers = await Promise.all(
        groups.map(async (group) => {
          try {
            return group.route.protocol === 'immich'
              ? await this.callImmich(group, entries, parts, ctx, all.signal)
              : await this.callMtPhotos(group, entries, parts, size, ctx, all.signal);
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
      return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(merged) };
    } finally {
      ctx.signal.removeEventListener('abort', follow);
    }
  }

  /** One Immich-protocol upstream, with the tasks of this route only. */
  private callImmich(group: RouteGroup, entries: Entries, parts: FormParts, ctx: RequestContext, signal: AbortSignal) {
    const subset = Object.fromEntries(group.tasks.map((task) => [task, entries[task]]));
    const payload: OutgoingPart = parts.image
      ? { name: 'image', data: parts.image, filename: 'blob' }
      : { name: 'text', value: parts.text ?? '' };
    const body = outgoingForm([{ name: 'entries', value: JSON.stringify(subset) }, payload]);
    return this.call(this.pools.get(group.route), group, ctx, async (upstream) => {
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

  /** An MT-Photos upstream: one call per task (it has no multi-task endpoint), answers converted. */
  private async callMtPhotos(
    group: RouteGroup,
    entries: Entries,
    parts: FormParts,
    size: ImageInfo | undefined,
    ctx: RequestContext,
    signal: AbortSignal,
  ): Promise<Answer> {
    const pool = this.pools.get(group.route);
    const apiKey = group.route.apiKey ?? '';
    const answers = await Promise.all(
      group.tasks.map(async (task): Promise<Answer> => {
        const one: RouteGroup = { route: group.route, tasks: [task] };
        if (task === 'ocr') {
          if (!parts.image || !size) throw badRequest('ocr: needs an "image" file');
          const body = outgoingForm([{ name: 'file', data: parts.image, filename: 'blob' }]);
          const entry = entries.ocr as unknown as OcrEntry;
          const ocr = await this.call(pool, one, ctx, (upstream) =>
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
            : { contentType: 'application/json', text: JSON.stringify({ text: parts.text }) };
          const path = visual ? '/clip/img' : '/clip/txt';
          const clip = await this.call(pool, one, ctx, (upstream) =>
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

  /** A pool call that records the upstreams tried, for the access log and the deadline message. */
  private async call<T>(
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
          ctx.current = upstream.url;
          return attempt(upstream);
        },
        { label: group.tasks.join('+'), replayable, trail },
      );
    } finally {
      ctx.current = undefined;
      ctx.upstreams.push(trail.join(' -> ') || `${group.route.name} (no upstream tried)`);
    }
  }

  private errorReply(error: unknown, ctx: RequestContext): Reply {
    const label = ctx.tasks.length > 0 ? ctx.tasks.join('+') : 'request';
    let status: number;
    let message: string;
    if (error instanceof GatewayError) {
      ({ status, message } = error);
    } else if (error instanceof UpstreamFailure) {
      status = error.status;
      message = `${label}: ${error.message}`;
    } else if (error instanceof ClientGoneError) {
      // Nobody reads this; 499 (nginx's "client closed request") keeps it apart in logs and metrics.
      status = 499;
      message = error.message;
    } else {
      this.logger.error(`unexpected failure on ${label}`, error instanceof Error ? error.stack : String(error));
      status = 500;
      message = `${label}: gateway error: ${error instanceof Error ? error.message : String(error)}`;
    }
    return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: message }) };
  }
}

type Reply = Pick<PredictReply, 'status' | 'headers' | 'body'>;

/**
 * One request's lifetime: its deadline (REQUEST_TIMEOUT_MS), the client going away, and what the
 * access log wants to know. Everything the request waits on is raced against `signal`.
 */
class RequestContext {
  readonly signal: AbortSignal;
  tasks: string[] = [];
  upstreams: string[] = [];
  mode?: 'stream' | 'parsed';
  /** The upstream being waited on, named in a deadline error. */
  current?: string;

  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly aborted: Promise<never>;
  private readonly onClientGone = () => this.abort(new ClientGoneError());

  constructor(
    private readonly timeoutMs: number,
    private readonly clientGone: AbortSignal,
  ) {
    this.signal = this.controller.signal;
    this.aborted = new Promise<never>((_, reject) =>
      this.signal.addEventListener('abort', () => reject(this.signal.reason), { once: true }),
    );
    this.aborted.catch(() => undefined);
    this.timer = setTimeout(() => this.abort(this.deadlineError()), timeoutMs);
    clientGone.addEventListener('abort', this.onClientGone, { once: true });
  }

  abort(reason: Error): void {
    if (!this.signal.aborted) this.controller.abort(reason);
  }

  race<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.aborted]);
  }

  finish(): void {
    clearTimeout(this.timer);
    this.clientGone.removeEventListener('abort', this.onClientGone);
  }

  private deadlineError(): GatewayError {
    const label = this.tasks.length > 0 ? this.tasks.join('+') : 'request';
    const waiting = this.current ? `, still waiting on upstream ${this.current}` : '';
    return new GatewayError(
      504,
      `${label}: no complete answer within ${this.timeoutMs} ms (REQUEST_TIMEOUT_MS)${waiting}`,
    );
  }
}

async function measure(image: Buffer, groups: RouteGroup[]): Promise<ImageInfo> {
  // Loaded on first use: libvips costs ~20 MB of RSS that a gateway without MT-Photos routes never needs.
  const { readImageInfo, ImageInputError } = await import('../shared/image/decode');
  try {
    return await readImageInfo(image);
  } catch (error) {
    if (!(error instanceof ImageInputError)) throw error;
    const label = groups.flatMap((group) => group.tasks).join('+');
    if (error.kind === 'too-large') throw tooLarge(`${label}: ${error.message}`);
    if (error.kind === 'empty') throw badRequest(`${label}: ${error.message}`);
    throw unprocessable(`${label}: ${error.message}`);
  }
}

/** A 5xx: drained (so the connection can be reused) and described, with the start of its body. */
async function serverError(upstream: Upstream, response: UpstreamResponse): Promise<UpstreamFailure> {
  const text = await snippet(upstream, response);
  return new UpstreamFailure('server-error', upstream.url, `answered ${response.status}${text}`);
}

/** An Immich-protocol answer: a JSON object on 2xx; a 4xx is the upstream's verdict on the request. */
async function readJson(upstream: Upstream, response: UpstreamResponse): Promise<Answer> {
  if (response.status >= 500) throw await serverError(upstream, response);
  if (response.status >= 300) {
    const text = await snippet(upstream, response);
    throw new UpstreamFailure('rejected', upstream.url, `answered ${response.status}${text}`, response.status);
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
    upstream.url,
    `answered ${response.status} with a body that is not a JSON object`,
  );
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
    if (error instanceof MtPhotosAnswerError) throw new UpstreamFailure('bad-answer', upstream.url, error.message);
    throw error;
  }
}

async function snippet(upstream: Upstream, response: UpstreamResponse): Promise<string> {
  try {
    const text = (await upstream.client.text(response)).trim().replace(/\s+/g, ' ');
    return text ? `: ${text.length > 300 ? `${text.slice(0, 300)}...` : text}` : '';
  } catch {
    return '';
  }
}

function endToEndHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
