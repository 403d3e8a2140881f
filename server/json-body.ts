import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from '../engine/graph/json-depth.ts';
import { HttpError } from './http-error.ts';

/** Bodies above this size are checked and parsed in separate turns of the event loop. */
const LARGE_BODY_BYTES = 64 * 1024;

/**
 * The JSON body parser every route shares. Any JSON value is accepted at the top (ComfyUI's
 * frontend POSTs a bare `true` to /settings/{id}); routes that want an object check the body's
 * shape with TypeBox (body.ts), so a bare value there is a 400 naming the body. Bodies are UTF-8
 * and nest at most MAX_JSON_DEPTH deep, checked on the bytes before parsing, so nothing stored
 * from a body is ever too deep to be written back out.
 *
 * A large body is read, checked for depth, parsed, and handed to its route in separate turns of
 * the event loop: each is one long synchronous step, and requests that arrive meanwhile (a GET
 * /queue) are answered between them rather than after all of them.
 */
export function jsonBody(maxBytes: number): RequestHandler[] {
  // Reading (limit, Content-Encoding) is body-parser's; decoding and parsing are done here.
  const read = express.raw({ limit: maxBytes, type: isJsonRequest });
  const parse: RequestHandler = (req, _res, next) => {
    if (!Buffer.isBuffer(req.body)) return next();
    const bytes = req.body;
    const charset = charsetOf(req.headers['content-type']);
    if (charset !== 'utf-8') return next(new HttpError(415, 'charset.unsupported', `JSON bodies are read as UTF-8, not ${charset.slice(0, 40)}`));
    const step = bytes.length > LARGE_BODY_BYTES ? (work: () => void) => setImmediate(work) : (work: () => void) => work();
    step(() => {
      if (jsonNestsDeeperThan(bytes, MAX_JSON_DEPTH))
        return next(new HttpError(400, 'json_too_deep', `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`));
      step(() => {
        try {
          req.body = parseJson(bytes);
        } catch (error) {
          return next(new HttpError(400, 'entity.parse.failed', (error as Error).message));
        }
        step(next);
      });
    });
  };
  return [read, parse];
}

/**
 * JSON whatever the declared type: ComfyUI's own API example posts with urllib's default form
 * content type. Uploads (multipart) and /workflow/parse (raw bytes) read their own bodies.
 */
function isJsonRequest(req: IncomingMessage): boolean {
  return !String(req.headers['content-type'] ?? '').startsWith('multipart/') && !(req.url ?? '').includes('/workflow/parse');
}

/** The declared charset, lower case; UTF-8 when none is declared (RFC 8259). */
function charsetOf(contentType: string | undefined): string {
  const declared = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  return declared === undefined || declared === 'utf8' ? 'utf-8' : declared;
}

function parseJson(bytes: Buffer): unknown {
  // An empty body is {}, as body-parser has it; a byte-order mark is dropped.
  if (bytes.length === 0) return {};
  const text = bytes.toString('utf8');
  return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}
