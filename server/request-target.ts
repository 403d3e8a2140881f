/**
 * The path and query of a request target, parsed without ever throwing: `new URL` throws on
 * targets like `//` and reads `//a/b` as a host, and decodeURIComponent throws on `%zz`. The
 * path is left as sent (routes compare it as is); the query is decoded leniently.
 */
export function requestTarget(url: string | undefined): { pathname: string; query: URLSearchParams } {
  const raw = url ?? '/';
  const mark = raw.indexOf('?');
  return {
    pathname: mark < 0 ? raw : raw.slice(0, mark),
    query: new URLSearchParams(mark < 0 ? '' : raw.slice(mark + 1)),
  };
}

/** decodeURIComponent that gives undefined where the text is not valid percent-encoding. */
export function decodeComponent(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
