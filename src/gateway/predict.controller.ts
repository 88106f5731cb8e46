import { Controller, Get, Header, Post, Req, Res } from '@nestjs/common';
import { Request, Response } from 'express';
import { GatewayMetrics } from './gateway-metrics';
import { PredictService } from './predict.service';

/**
 * Immich's ML protocol at the front (Contract 1) plus /metrics. HTTP only: /predict hands the raw
 * request to the service (the body must stay an unread stream) and writes back what it returns.
 */
@Controller()
export class PredictController {
  constructor(
    private readonly service: PredictService,
    private readonly metrics: GatewayMetrics,
  ) {}

  @Get('ping')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  ping(): string {
    return 'pong';
  }

  @Get('metrics')
  async prometheus(@Res() res: Response): Promise<void> {
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    res.end(await this.metrics.registry.metrics());
  }

  @Post('predict')
  async predict(@Req() req: Request, @Res() res: Response): Promise<void> {
    const started = performance.now();
    const clientGone = new AbortController();
    let closed = false;
    res.once('close', () => {
      closed = true;
      if (!res.writableFinished) clientGone.abort();
    });

    const reply = await this.service.predict(req, clientGone.signal);
    const finish = () => {
      reply.done();
      const { tasks, models, upstreams, mode, status } = reply;
      this.metrics.record({ tasks, models, upstreams, mode, status, ms: performance.now() - started });
    };
    if (closed) {
      finish();
      return;
    }
    res.once('close', finish);

    const headers: Record<string, string> = { ...reply.headers };
    if (typeof reply.body === 'string') {
      headers['content-length'] = String(Buffer.byteLength(reply.body));
      res.writeHead(reply.status, headers);
      res.end(reply.body);
    } else {
      res.writeHead(reply.status, headers);
      // An upstream that breaks off mid-answer leaves a truncated body: the socket is closed so the
      // client sees an error rather than a short JSON. (pipe, not pipeline: pipeline builds and aborts
      // an AbortController per call, a measurable share of this hot path.)
      reply.body.once('error', (error) => res.destroy(error));
      reply.body.pipe(res);
    }
  }
}
