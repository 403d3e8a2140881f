import type { TSchema, Static } from 'typebox';
import Value from 'typebox/value';
import { HttpError } from './http-error.ts';

/** Checks a request body against its schema at the edge: bad input is a 400 naming the field. */
export function parseBody<S extends TSchema>(schema: S, body: unknown, what: string): Static<S> {
  const value = body ?? {};
  if (!Value.Check(schema, value)) {
    const problems = Value.Errors(schema, value)
      .slice(0, 5)
      .map((e) => `${e.instancePath || '(body)'}: ${e.message}`);
    throw new HttpError(400, 'invalid_body', `${what}: ${problems.join('; ')}`);
  }
  return value as Static<S>;
}
