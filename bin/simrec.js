#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so `npm ci` alone leaves `npx simrec` working (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
if (typeof code === 'number') process.exitCode = code;
