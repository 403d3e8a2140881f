import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from '../engine/graph/json-depth.ts';
import { HttpError } from './http-error.ts';

/**
 * The JSON body parser every route shares. Any JSON value is accepted at the top (ComfyUI's
 * frontend POSTs a bare `true` to /settings/{id}); routes that want an object check the body's
 * shape with TypeBox (body.ts), so a bare value there is a 400 naming the body. Bodies are UTF-8
 * and nest at most MAX_JSON_DEPTH deep, checked on the bytes before parsing, so nothing stored
 * from a body is ever too deep to be written back out.
 */
const LARGE_BODY_BYTES = 64 * 1024;

export function jsonBody(maxBytes: number): RequestHandler[] {
  const largeBodies = new WeakSet<IncomingMessage>();
  const parse = express.json({
    limit: maxBytes,
    strict: false,
    // JSON whatever the declared type: ComfyUI's own API example posts with urllib's default
    // form content type. Uploads (multipart) and /workflow/parse (raw bytes) parse their own bodies.
    type: (req) => !String(req.headers['content-type'] ?? '').startsWith('multipart/') && !(req.url ?? '').includes('/workflow/parse'),
    verify: (req, _res, bytes, encoding) => {
      if (encoding !== 'utf-8') throw new HttpError(415, 'charset.unsupported', `JSON bodies are read as UTF-8, not ${encoding}`);
      if (jsonNestsDeeperThan(bytes, MAX_JSON_DEPTH)) throw new HttpError(400, 'json_too_deep', `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`);
      if (bytes.length > LARGE_BODY_BYTES) largeBodies.add(req);
    },
  });
  // Parsing a large body is one long synchronous step; the route's own work (validation) runs in
  // the next turn of the event loop, so other requests are answered between the two.
  const yieldAfterLargeBody: RequestHandler = (req, _res, next) => {
    if (largeBodies.has(req)) setImmediate(next);
    else next();
  };
  return [parse, yieldAfterLargeBody];
}
