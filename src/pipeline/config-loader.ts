/**
 * Reads a JSON or YAML config file and validates it against a TypeBox schema. An unknown key or a wrong type is
 * a CONFIG_INVALID error naming the key by its dotted path (`knownFor.alpha`), so a typo never silently falls
 * back to a default.
 */
import { readFileSync } from 'node:fs';
import type { TSchema } from 'typebox';
import Value from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { SimrecError } from '../core/errors.ts';

export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SimrecError('INPUT_MISSING', `config file not found: ${file}`, { file }, { cause: e });
  }
  try {
    return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new SimrecError(
      'CONFIG_INVALID',
      `cannot parse config: ${(e as Error).message}`,
      { file },
      { cause: e },
    );
  }
}

/** Validates `value` against `schema`, fills defaults, and returns it; throws naming the first bad key. */
export function validateConfig<T>(schema: TSchema, value: unknown, source = 'config'): T {
  // Defaults first, so an absent section or key is filled rather than reported as missing.
  const filled = Value.Default(schema, structuredClone(value ?? {}));
  const errors = [...Value.Errors(schema, filled)];
  if (errors.length > 0) {
    const messages = errors
      .filter((e) => e.keyword !== 'boolean' && e.keyword !== 'anyOf')
      .map((e) => describe(e as unknown as SchemaError));
    const unique = [...new Set(messages)];
    const first =
      errors.find((e) => e.keyword === 'additionalProperties') ??
      errors.find((e) => e.keyword !== 'boolean') ??
      errors[0];
    throw new SimrecError('CONFIG_INVALID', `${source}: ${unique.join('; ')}`, {
      field: fieldOf(first as unknown as SchemaError),
    });
  }
  return filled as T;
}

interface SchemaError {
  keyword: string;
  instancePath: string;
  message: string;
  params: Record<string, unknown>;
}

function dotted(pointer: string): string {
  return pointer.split('/').filter(Boolean).join('.');
}

function fieldOf(e: SchemaError): string {
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params.additionalProperties as string[] | undefined)?.[0];
    return [dotted(e.instancePath), extra].filter(Boolean).join('.');
  }
  return dotted(e.instancePath);
}

function describe(e: SchemaError): string {
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params.additionalProperties as string[] | undefined) ?? [];
    const base = dotted(e.instancePath);
    return extra.map((k) => `unknown key '${base ? `${base}.` : ''}${k}'`).join('; ');
  }
  return `'${dotted(e.instancePath) || '(root)'}' ${e.message}`;
}
