import type { ErrorRequestHandler, RequestHandler } from 'express';

/** The one HTTP error: a status, a code a client can switch on, and a message a person can act on. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * Every error leaves as JSON in ComfyUI's shape, `{ error: { type, message, details, extra_info },
 * node_errors }`, so its clients show it; nothing a client sends becomes a 500.
 */
export const errorHandler: ErrorRequestHandler = (error, _req, res, _next) => {
  const { status, body } = toResponse(error);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(status).json(body);
};

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

function toResponse(error: unknown): { status: number; body: unknown } {
  if (error instanceof HttpError) return errorBody(error.status, error.code, error.message, error.extra);
  const e = error as { status?: number; statusCode?: number; type?: string; code?: string; message?: string; name?: string };
  // body-parser and multer errors carry a status or a code of their own.
  if (e?.name === 'MulterError') {
    return errorBody(e.code === 'LIMIT_FILE_SIZE' ? 413 : 400, String(e.code ?? 'upload_error').toLowerCase(), e.message ?? 'bad upload');
  }
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return errorBody(status, e.type ?? 'bad_request', e.message ?? 'bad request');
  }
  console.error('fewstep server error:', error);
  return errorBody(500, 'internal_error', 'internal error; see the server log');
}

function errorBody(status: number, type: string, message: string, extra: Record<string, unknown> = {}): { status: number; body: unknown } {
  return { status, body: { error: { type, message, details: message, extra_info: {}, ...extra }, node_errors: {} } };
}
