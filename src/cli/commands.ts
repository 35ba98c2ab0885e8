import { buildCommand } from './build.ts';
import { candidatesCommand } from './candidates.ts';
import type { Command } from './command.ts';
import { demoCommand } from './demo.ts';
import { evalCommand } from './eval.ts';
import { exportCommand } from './export.ts';
import { generateCommand } from './generate.ts';
import { serveCommand } from './serve.ts';
import { similarCommand } from './similar.ts';
import { validateCommand } from './validate.ts';

/** Every subcommand, in the order `simrec --help` lists them. */
export const commands: Command[] = [
  generateCommand,
  validateCommand,
  buildCommand,
  exportCommand,
  serveCommand,
  candidatesCommand,
  similarCommand,
  evalCommand,
  demoCommand,
];
