import Compile, { type Validator } from 'typebox/compile';
import Value from 'typebox/value';
import type { NodeErrorEntry } from './errors.ts';
import { comboValues, type WidgetKind } from './widgets.ts';
import type { TSchema } from 'typebox';

/** Widget schemas compiled once: validating thousands of nodes must not interpret each schema anew. */
const validators = new WeakMap<TSchema, Validator>();

function validatorFor(schema: TSchema): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema) as Validator;
    validators.set(schema, validator);
  }
  return validator;
}

/**
 * Turns text into a widget's primitive ("7" -> 7, "true" -> true), as ComfyUI does for API
 * clients and as the CLI's --set needs. Anything that does not parse is returned unchanged,
 * so the check below reports it.
 */
export function coerceWidgetValue(kind: WidgetKind, value: unknown, schema?: TSchema): unknown {
  if (typeof value !== 'string') return value;
  if (kind === 'INT' || kind === 'FLOAT') {
    const trimmed = value.trim();
    return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : value;
  }
  if (kind === 'BOOLEAN') return value === 'true' ? true : value === 'false' ? false : value;
  if (kind === 'COMBO' && schema) {
    // A numeric combo (e.g. steps as a list) still takes its values as text from the CLI.
    const values = comboValues(schema) ?? [];
    const match = values.find((option) => String(option) === value);
    return match ?? value;
  }
  return value;
}

/** Checks one widget value against its schema; null when it is fine. */
export function checkWidgetValue(name: string, schema: TSchema, kind: WidgetKind, value: unknown): NodeErrorEntry | null {
  if (validatorFor(schema).Check(value)) return null;
  const extra_info = { input_name: name, input_config: schema, received_value: value };
  const bounds = schema as { minimum?: number; maximum?: number };
  if (kind === 'COMBO') {
    const values = comboValues(schema)!;
    return {
      type: 'value_not_in_list',
      message: 'Value not in list',
      details: `${name}: ${JSON.stringify(value)} not in ${JSON.stringify(values)}`,
      extra_info,
    };
  }
  const expected = { INT: 'an integer', FLOAT: 'a number', STRING: 'a string', BOOLEAN: 'true or false' }[kind];
  const typeOk =
    (kind === 'INT' && Number.isInteger(value)) ||
    (kind === 'FLOAT' && typeof value === 'number' && Number.isFinite(value)) ||
    (kind === 'STRING' && typeof value === 'string') ||
    (kind === 'BOOLEAN' && typeof value === 'boolean');
  if (!typeOk) {
    return {
      type: 'invalid_input_type',
      message: 'Invalid input type',
      details: `${name}: expected ${expected}, got ${JSON.stringify(value) ?? String(value)}`,
      extra_info,
    };
  }
  if (typeof value === 'number' && bounds.minimum !== undefined && value < bounds.minimum) {
    return {
      type: 'value_smaller_than_min',
      message: 'Value smaller than min',
      details: `${name}: value ${value} smaller than min of ${bounds.minimum}`,
      extra_info,
    };
  }
  if (typeof value === 'number' && bounds.maximum !== undefined && value > bounds.maximum) {
    return {
      type: 'value_bigger_than_max',
      message: 'Value bigger than max',
      details: `${name}: value ${value} bigger than max of ${bounds.maximum}`,
      extra_info,
    };
  }
  const first = Value.Errors(schema, value)[0];
  return {
    type: 'invalid_input_type',
    message: 'Invalid input value',
    details: `${name}: ${first?.message ?? 'does not match its schema'}`,
    extra_info,
  };
}
