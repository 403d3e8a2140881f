import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import { HttpError } from './http-error.ts';
import { isLoopback } from './security.ts';

/**
 * Which Host names the server answers to, against DNS rebinding: a web page on a name its owner
 * points at 127.0.0.1 is same-origin with itself, so the Origin check alone lets it read this
 * server. Bound to loopback, only loopback names are served, plus those `--allow-host` adds.
 * Bound beyond loopback the access token is the guard (a rebinding page never has it); there,
 * `--allow-host` still narrows the names to loopback ones, IP addresses and the names given.
 */
export interface HostPolicy {
  /** The address the server is bound to; undefined before it listens. */
  boundAddress(): string | undefined;
  /** Extra names (`--allow-host`); a leading dot allows a domain and its subdomains. */
  allowedHosts: readonly string[];
}

/** The host name of a Host header, lower case, without port, brackets or a final dot. */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  let name = value.replace(/:\d*$/, '');
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    name = end < 0 ? value.slice(1) : value.slice(1, end);
  }
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function isLoopbackName(name: string): boolean {
  return isLoopback(name) || name.endsWith('.localhost') || name === '::ffff:127.0.0.1';
}

/** An `--allow-host` entry as compared: a host name, or `.domain` for the domain and its subdomains. */
export function allowedHostName(entry: string): string {
  return entry.startsWith('.') ? `.${hostName(entry.slice(1))}` : hostName(entry);
}

function isListed(name: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) => {
    const wanted = allowedHostName(entry);
    return wanted.startsWith('.') ? name === wanted.slice(1) || name.endsWith(wanted) : name === wanted;
  });
}

/** True when a request's Host may be served under `policy`; requests without a Host (HTTP/1.0 tools) pass. */
export function hostAllowed(req: IncomingMessage, policy: HostPolicy): boolean {
  const header = req.headers.host;
  if (header === undefined) return true;
  const name = hostName(header);
  if (isLoopbackName(name) || isListed(name, policy.allowedHosts)) return true;
  const bound = policy.boundAddress();
  if (bound === undefined || isLoopback(bound) || bound === '::ffff:127.0.0.1') return false;
  return policy.allowedHosts.length === 0 || isIP(name) !== 0;
}

export function hostGuard(policy: HostPolicy): RequestHandler {
  return (req, _res, next) => {
    if (hostAllowed(req, policy)) return next();
    const name = hostName(req.headers.host ?? '').slice(0, 100);
    next(new HttpError(403, 'host_not_allowed', `this server does not answer to the host name "${name}"; start it with --allow-host ${name} to allow it`));
  };
}
