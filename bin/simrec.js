#!/usr/bin/env node
// The installed package runs the compiled CLI in dist/ (built by `npm run build`, which `prepare` runs before
// `npm pack`), so a call costs Node's start plus loading JavaScript. A development checkout, recognisable by
// src/ beside bin/ (the package does not ship src/), runs the TypeScript sources through tsx instead, so an
// edit takes effect without a rebuild and a stale dist/ is never what answers.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import('../dist/cli/main.js'));
}
const code = await main(process.argv.slice(2));
if (typeof code === 'number') process.exitCode = code;
