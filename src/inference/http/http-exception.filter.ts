import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { MlErrorBody } from '../../shared/wire/immich-ml';
import type { MtErrorBody } from '../../shared/wire/mt-photos';
import { IMAGE_ERROR_STATUS, ImageInputError } from '../../shared/image/decode';
import { HttpError } from '../../shared/http/http-error';
import { ClientGoneError } from '../../shared/http/incoming-form';
import { QueueFullError } from '../../shared/queue/limiter';
import { ClipModelMissingError } from '../clip/clip-engine';
import { OcrModelMissingError } from '../ocr/model-files';
import { OcrPoolBusyError } from '../ocr/ocr-worker-pool';
import { ModelUnavailableError, publicModelError, UnsupportedRequestError } from './errors';

/** Routes that speak Contract 2 (MT-Photos): their failures use `{"result":[],"msg":...}`. */
const MT_PHOTOS_ROUTE = /^\/(check|ocr|clip\/(img|txt))\/?$/;

export function isMtPhotosRoute(path: string): boolean {
  return MT_PHOTOS_ROUTE.test(path);
}

interface Answer {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/**
 * The one place failures become HTTP answers: a real status, a JSON body in the shape of the
 * contract the route speaks, never a stack trace, a file path or 200. A 413 for a body over
 * MAX_UPLOAD_BYTES closes the connection (its HttpError says so): the rest of the body is not read.
 */
@Catch()
export class InferenceExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('InferenceHttp');

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    if (!res.socket || res.socket.destroyed || error instanceof ClientGoneError) {
      // The client hung up (mid-upload, say): nobody will read an answer, and it is not our failure.
      this.logger.debug(`${req.method} ${req.path}: client went away (${(error as Error)?.message})`);
      return;
    }
    const answer = this.answer(error, req);
    if (res.headersSent) {
      // Nothing sensible can follow a started body; end the connection so the client sees a failure.
      res.destroy();
      return;
    }
    const body: MlErrorBody | MtErrorBody = isMtPhotosRoute(req.path)
      ? { result: [], msg: answer.message }
      : { error: answer.message };
    res.status(answer.status);
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
    res.json(body);
  }

  private answer(error: unknown, req: Request): Answer {
    if (error instanceof HttpError) return { status: error.status, message: error.message, headers: error.headers };
    if (error instanceof ImageInputError) return { status: IMAGE_ERROR_STATUS[error.kind], message: error.message };
    if (error instanceof QueueFullError) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        message: error.message,
        headers: { 'Retry-After': String(error.retryAfterSeconds) },
      };
    }
    if (error instanceof OcrPoolBusyError) {
      return { status: HttpStatus.SERVICE_UNAVAILABLE, message: error.message, headers: { 'Retry-After': '1' } };
    }
    // The missing-file errors name the file to install and the variable that says where, not the
    // folder's path on this machine (the log line has that).
    if (
      error instanceof ClipModelMissingError ||
      error instanceof OcrModelMissingError ||
      error instanceof ModelUnavailableError
    ) {
      const model = error instanceof ModelUnavailableError ? error.model : 'requested';
      return { status: HttpStatus.SERVICE_UNAVAILABLE, message: publicModelError(error, model) };
    }
    // The client went away while its request waited for a slot; nobody reads this answer.
    if (error instanceof Error && error.name === 'AbortError') {
      return { status: HttpStatus.SERVICE_UNAVAILABLE, message: 'request cancelled by the client' };
    }
    if (error instanceof UnsupportedRequestError) {
      return { status: HttpStatus.UNPROCESSABLE_ENTITY, message: error.message };
    }
    if (error instanceof HttpException) {
      return { status: error.getStatus(), message: httpExceptionMessage(error) };
    }
    // body-parser (JSON on /clip/txt) throws http-errors: a status and a message safe to show.
    const expose = error as { expose?: boolean; status?: number; message?: string };
    if (expose?.expose && typeof expose.status === 'number' && expose.status >= 400 && expose.status < 500) {
      return { status: expose.status, message: expose.message ?? 'bad request' };
    }
    this.logger.error(
      `${req.method} ${req.path} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'internal error; the service log has the details' };
  }
}

function httpExceptionMessage(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : error.message;
}
