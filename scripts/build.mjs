#!/usr/bin/env node
// Compiles src/ to dist/ (JavaScript + .d.ts) for the published package; development and tests run the
// sources through tsx and never read dist/.
//
// tsc rewrites `./x.ts` in import specifiers but not in `new URL('./x.ts', import.meta.url)`, which is how
// worker threads and cluster workers name their entry files; compiled code must start the compiled `.js`
// sibling (Node 20 cannot load `.ts` without tsx), so those URLs are rewritten here, and the build fails if
// one points at a file that was not emitted or if any `.ts` URL is left.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
// typescript's `exports` hide bin/tsc; its package.json is exported, and bin/tsc sits beside it.
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');

rmSync(dist, { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});
if (r.status !== 0) process.exit(r.status ?? 1);

const URL_TS = /new URL\((['"])(\.{1,2}\/[^'"]+)\.ts\1, import\.meta\.url\)/g;

function jsFiles(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) jsFiles(p, out);
    else if (name.endsWith('.js')) out.push(p);
  }
  return out;
}

let rewritten = 0;
const problems = [];
for (const file of jsFiles(dist)) {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    // Doc comments show the pattern as an example; only code names a file to start.
    if (/^\s*(\*|\/\/|\/\*)/.test(lines[i])) continue;
    lines[i] = lines[i].replace(URL_TS, (_m, q, stem) => {
      if (!existsSync(join(dirname(file), `${stem}.js`)))
        problems.push(`${relative(root, file)}:${i + 1}: ${stem}.js was not emitted`);
      rewritten++;
      return `new URL(${q}${stem}.js${q}, import.meta.url)`;
    });
    // Any other `.ts` URL form would load TypeScript at run time; catch it here rather than in production.
    if (/new URL\([^)]*\.ts['"]/.test(lines[i]))
      problems.push(`${relative(root, file)}:${i + 1}: unrewritten ${lines[i].trim()}`);
  }
  const out = lines.join('\n');
  if (out !== text) writeFileSync(file, out);
}
if (problems.length > 0) {
  console.error(`build: ${problems.length} problem(s) in dist/:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`build: dist/ compiled (${rewritten} worker entry URL(s) now name .js files)`);
