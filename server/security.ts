import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { HttpError } from './http-error.ts';
import { decodeComponent, requestTarget } from './request-target.ts';

const TOKEN_COOKIE = 'fewstep_token';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    // A cookie that is not valid percent-encoding carries no token (it must not throw).
    if (key === TOKEN_COOKIE) return decodeComponent(rest.join('='));
  }
  return undefined;
}

/** The token a request carries: `Authorization: Bearer`, `?token=`, or the cookie set by a first `?token=` visit. */
export function requestToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const query = requestTarget(req.url).query.get('token');
  return query ?? cookieToken(req.headers.cookie);
}

export function authorized(req: IncomingMessage, token: string | undefined): boolean {
  return token === undefined || sameToken(requestToken(req), token);
}

/**
 * With an access token (FEWSTEP_TOKEN), every request must carry it. Opening the editor once with
 * `?token=...` sets a same-site cookie, so the page's own fetches and websocket carry it after.
 */
export function tokenGuard(token: string | undefined): RequestHandler {
  return (req, res, next) => {
    if (token === undefined) return next();
    if (!authorized(req, token))
      return next(new HttpError(401, 'unauthorized', 'this server needs its access token: open it with ?token=... or send Authorization: Bearer <token>'));
    if (typeof req.query.token === 'string') {
      res.cookie(TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/' });
    }
    next();
  };
}

/**
 * Refuses cross-site requests: a page on another origin must not queue prompts or read files
 * from a server on this machine. Requests without an Origin (curl, scripts) pass.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return origin !== 'null';
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export const originGuard: RequestHandler = (req, _res, next) => {
  if (!sameOrigin(req)) return next(new HttpError(403, 'cross_origin', `requests from ${req.headers.origin} are refused`));
  next();
};
