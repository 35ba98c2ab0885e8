/**
 * Request validation with TypeBox's compiled checkers. Bodies are checked as sent (a JSON "10" is not the
 * number 10). Path and query values arrive as strings, so a string is turned into a number where the schema
 * wants one, but only when it is written as a plain decimal number: "1.5" stays a string for an integer field
 * and fails, rather than being truncated to 1 as a lenient converter would; likewise a boolean only from `true` or
 * `false`. A query string is held to the
 * same rule as a body: a parameter the schema does not name (`limit[]`, a typo) is rejected, not ignored, and
 * a repeated one (`limit=1&limit=2`, an array) fails its type.
 */
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const INTEGER = /^-?(?:0|[1-9]\d*)$/;

interface ObjectSchema {
  properties?: Record<string, { type?: string }>;
}

function convertStrings(schema: ObjectSchema, value: unknown): unknown {
  if (!value || typeof value !== 'object' || !schema.properties) return value;
  const input = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const [key, prop] of Object.entries(schema.properties)) {
    const v = input[key];
    if (typeof v !== 'string') continue;
    const wanted = prop.type;
    if ((wanted === 'integer' && INTEGER.test(v)) || (wanted === 'number' && DECIMAL.test(v))) {
      out ??= { ...input };
      out[key] = Number(v);
    } else if (wanted === 'boolean' && (v === 'true' || v === 'false')) {
      // Only the two words: `?explain` (empty), `1` or `yes` stay strings and fail, as a body's would.
      out ??= { ...input };
      out[key] = v === 'true';
    }
  }
  return out ?? value;
}

/** The first query parameter the schema does not name, reported as `additionalProperties` would be. */
export function unknownParameter(
  known: Record<string, unknown> | undefined,
  input: unknown,
): FastifySchemaValidationError[] | null {
  if (!input || typeof input !== 'object') return null;
  for (const key of Object.keys(input))
    if (!known || !Object.hasOwn(known, key))
      return [
        {
          keyword: 'additionalProperties',
          instancePath: '',
          schemaPath: '#/additionalProperties',
          params: { additionalProperties: [key] },
          message: 'must NOT have additional properties',
        },
      ];
  return null;
}

/** Fastify validator compiler over TypeBox schemas. */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const checker = Compile(schema);
  const isBody = httpPart === 'body';
  const isQuery = httpPart === 'querystring';
  const properties = (schema as ObjectSchema).properties;
  return (input: unknown) => {
    if (isQuery) {
      const unknown = unknownParameter(properties, input);
      if (unknown) return { error: unknown };
    }
    const value = isBody ? input : convertStrings(schema as ObjectSchema, input);
    if (checker.Check(value)) return { value };
    return { error: checker.Errors(value) as unknown as FastifySchemaValidationError[] };
  };
};
