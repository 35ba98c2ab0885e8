import { buildCommand } from './build.ts';
import type { Command } from './command.ts';
import { validateCommand } from './validate.ts';

/** Every subcommand, in the order `simrec --help` lists them. */
export const commands: Command[] = [validateCommand, buildCommand];
