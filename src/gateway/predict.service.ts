import { Inject, Injectable, Logger } from '@nestjs/common';
import { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { GatewayConfig } from '../config/gateway.config';
import { ByteBudget } from '../shared/http/byte-budget';
import { HttpError, badRequest } from '../shared/http/http-error';
import { requestTimedOut } from '../shared/http/http-server';
import { ClientGoneError, IncomingForm } from '../shared/http/incoming-form';
import { parseEntries } from '../shared/wire/entries';
import { forward } from './forward';
import { RequestContext } from './request-context';
import { RoutingTable } from './routing-table';
import { splitAndCall } from './split-call';
import { UpstreamPools } from './upstream-pool';

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
/** The ByteBudget of upload bytes all requests together may hold (UPLOAD_MEMORY_BYTES). */
export const UPLOAD_MEMORY = Symbol('UPLOAD_MEMORY');

/** What the controller sends back, and what the access log and metrics record about it. */
export interface PredictReply {
  status: number;
  headers: Record<string, string>;
  /** A JSON text, or an upstream's answer streamed through unchanged. */
  body: string | Readable;
  tasks: string[];
  models: Record<string, string[]>;
  upstreams: string[];
  mode?: 'stream' | 'parsed';
  /** Call once the answer is sent or the client has gone: frees the request's memory, timers and budget. */
  done(): void;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * Routes one /predict request: reads `entries` (the validator the inference service uses too), then
 * either forwards the raw body to one Immich-protocol upstream as it arrives (forward.ts: Immich sends
 * one task per request), or parses the form once and calls each route (split-call.ts: split requests,
 * MT-Photos conversion), merging the answers into one.
 */
@Injectable()
export class PredictService {
  private readonly logger = new Logger('Gateway');
  private readonly replay: ByteBudget;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(UPLOAD_MEMORY) private readonly memory: ByteBudget,
    private readonly table: RoutingTable,
    private readonly pools: UpstreamPools,
  ) {
    this.replay = new ByteBudget(config.replayBudgetBytes);
  }

  async predict(request: IncomingMessage, clientGone: AbortSignal): Promise<PredictReply> {
    const ctx = new RequestContext(this.config.requestTimeoutMs, clientGone, () => request.complete);
    let form: IncomingForm | undefined;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      form?.dispose();
      ctx.finish();
    };
    try {
      form = new IncomingForm(request, { maxUploadBytes: this.config.maxUploadBytes, memory: this.memory, raw: true });
      form.failed.catch((error: Error) => ctx.abort(error));
      const head = await ctx.race(form.head());
      const entries = parseEntries(head.entries);
      ctx.tasks = entries.tasks;
      ctx.models = Object.fromEntries(
        entries.tasks.map((task) => [task, [...new Set(Object.values(entries.raw[task]).map((m) => m.modelName))]]),
      );
      if (!head.payload) throw badRequest('either an "image" file or a "text" field must be provided');

      const groups = this.table.split(ctx.tasks);
      const single = groups.length === 1 && groups[0].route.protocol === 'immich' && head.streamable;
      const reply = single
        ? await forward(form, groups[0], this.pools.get(groups[0].route), this.replay, ctx)
        : { status: 200, headers: JSON_HEADERS, body: await splitAndCall(form, entries.raw, groups, this.pools, ctx) };
      return { ...reply, tasks: ctx.tasks, models: ctx.models, upstreams: ctx.upstreams, mode: ctx.mode, done };
    } catch (error) {
      const reply = this.errorReply(error, ctx, request);
      done();
      return { ...reply, tasks: ctx.tasks, models: ctx.models, upstreams: ctx.upstreams, mode: ctx.mode, done };
    }
  }

  private errorReply(error: unknown, ctx: RequestContext, request: IncomingMessage) {
    let status: number;
    let message: string;
    let headers: Record<string, string> = {};
    if (error instanceof HttpError) {
      ({ status, message, headers } = error);
    } else if (error instanceof ClientGoneError) {
      // Nobody reads this. Node cut the request off for taking too long (408), or the client left:
      // 499 (nginx's "client closed request") keeps that apart in logs and metrics.
      status = requestTimedOut(request.socket) ? 408 : 499;
      message = error.message;
    } else {
      this.logger.error(`unexpected failure on ${ctx.label}`, error instanceof Error ? error.stack : String(error));
      status = 500;
      message = `${ctx.label}: gateway error (the gateway log has the details)`;
    }
    return { status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify({ error: message }) };
  }
}
