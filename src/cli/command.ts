import { type ParseArgsConfig, parseArgs } from 'node:util';
import { SimrecError } from '../core/errors.ts';

export interface Command {
  name: string;
  summary: string;
  /** Full help text printed by `simrec <name> --help`. */
  help: string;
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>['values'];

/** node:util parseArgs, with unknown or malformed options turned into a coded error that names the option. */
export function parseOptions<O extends Options>(argv: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new SimrecError('CONFIG_INVALID', (e as Error).message, {}, { cause: e });
  }
}

/** A required string option, or a CONFIG_INVALID error naming it. */
export function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '')
    throw new SimrecError('CONFIG_INVALID', `--${name} is required`, { field: name });
  return v;
}

/** An optional integer option with a default, validated. */
export function intOption(
  values: Record<string, unknown>,
  name: string,
  dflt: number,
  min = Number.MIN_SAFE_INTEGER,
): number {
  const v = values[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new SimrecError('CONFIG_INVALID', `--${name} must be an integer ≥ ${min}, got '${String(v)}'`, {
      field: name,
    });
  }
  return n;
}

/** An optional finite number option with a default, validated. */
export function numberOption(
  values: Record<string, unknown>,
  name: string,
  dflt: number,
  min = -Infinity,
): number {
  const v = values[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) {
    throw new SimrecError('CONFIG_INVALID', `--${name} must be a number ≥ ${min}, got '${String(v)}'`, {
      field: name,
    });
  }
  return n;
}
