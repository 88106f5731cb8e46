import type { IncomingMessage, ServerResponse } from 'node:http';
import getRawBody from 'raw-body';
import { jsonDepthExceeds } from './json-depth';

export interface JsonBodyOptions {
  /** Largest body accepted, in bytes. */
  limit: number;
  /** Deepest nesting of arrays and objects accepted. */
  maxDepth: number;
}

type Next = (error?: unknown) => void;

/**
 * JSON request bodies, bounded on every side. body-parser refuses an oversized body only after
 * reading all of it (its error path drains the request), so a client declaring a megabyte and
 * sending two bytes keeps the connection until the request deadline. Here the body is refused from
 * its Content-Length before a byte is read, a chunked body is cut off as it crosses the limit, and
 * either answer closes the connection; nesting is checked before JSON.parse hands the result to
 * validators that would recurse through it.
 */
export function jsonBody({ limit, maxDepth }: JsonBodyOptions) {
  return (request: IncomingMessage & { body?: unknown }, response: ServerResponse, next: Next): void => {
    if (!hasJsonBody(request)) return next();
    const declared = Number(request.headers['content-length'] ?? NaN);
    if (declared > limit) return refuse(response, 413, `request body over ${limit} bytes`);
    getRawBody(request, { length: Number.isFinite(declared) ? declared : undefined, limit })
      .then((raw) => {
        if (jsonDepthExceeds(raw, maxDepth)) {
          return refuse(response, 400, `JSON nested deeper than ${maxDepth} levels`, false);
        }
        try {
          request.body = JSON.parse(raw.toString('utf8'));
        } catch {
          return refuse(response, 400, 'malformed JSON body', false);
        }
        next();
      })
      .catch((error: { type?: string; status?: number }) => {
        if (error.type === 'entity.too.large') return refuse(response, 413, `request body over ${limit} bytes`);
        if (error.type === 'request.aborted' || error.status === undefined) return next(error);
        refuse(response, error.status, 'malformed request body', false);
      });
  };
}

function hasJsonBody(request: IncomingMessage): boolean {
  const type = request.headers['content-type'] ?? '';
  const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length']) > 0;
  return hasBody && /^application\/([\w.+-]+\+)?json\b/i.test(type);
}

/** Answers in Nest's error shape; `close`: the rest of the body is not read, so the connection ends. */
function refuse(response: ServerResponse, status: number, message: string, close = true): void {
  if (response.headersSent) return;
  const body = JSON.stringify({ statusCode: status, message });
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...(close ? { connection: 'close' } : {}),
  });
  response.end(body);
}
