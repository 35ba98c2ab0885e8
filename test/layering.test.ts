/**
 * The source tree's layering (issue 14 item 7): top-level folders of src/ import only folders below them, and no
 * module imports itself through a chain of imports. Read from the import statements themselves (type-only ones
 * included: a type cycle still couples two modules), tests and fixtures included, so a new upward import or
 * cycle fails here with the file that adds it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/**
 * Lowest first; a folder may import any folder of a lower layer. Folders sharing a layer do not import each
 * other, except the pairs in SAME_LAYER. `artifacts/` (the artifact layout: keys, records, codecs) sits above
 * `simclusters/`, whose outputs it stores, and below everything that writes or reads a version. `query/` (the
 * query engine: a version's serving model, independent of HTTP) sits between ann and pipeline/eval, so eval
 * scores models through the same queries the server answers. The package entry `src/index.ts` is above
 * everything and imported by nothing. `ranking/` (feature hashing, the ranker, metrics, exploration, merge and
 * filters: pure functions over typed arrays) needs only core, so the query engine and the build can both use it.
 * `recommend/` (the two-stage engine: sources merged, features, ranker, exploration, filters, explanations) sits
 * on query and below pipeline and eval, so the build trains its ranker on the features the engine serves.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['core'],
  ['data', 'store', 'mf', 'ranking'],
  ['simclusters'],
  ['artifacts'],
  ['ann'],
  ['query'],
  ['recommend'],
  ['pipeline', 'eval'],
  ['serve'],
  ['cli'],
];

/** Allowed imports within one layer, importer → imported: evaluating a model builds it; a build never evaluates. */
const SAME_LAYER: readonly (readonly [string, string])[] = [['eval', 'pipeline']];

/**
 * Upward imports that remain, each named exactly so no other can join them: three eval tests compare what eval
 * measures with what the HTTP app answers, which needs the app.
 */
const KNOWN_UPWARD: readonly string[] = [
  'eval/served.test.ts -> serve/app.ts',
  'eval/simclusters-model.test.ts -> serve/app.ts',
  'eval/two-stage-model.test.ts -> serve/app.ts',
];

const ROOT_ENTRY = 'index.ts';

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/**
 * Relative specifiers of a module's static imports and re-exports (a clause of names only, so a line of code
 * that merely mentions `from` cannot match) and of its dynamic `import('…')` calls.
 */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(
    /^(?:import|export)(?:\s+type)?\s*(?:[\w$*\s{},]+?\s*from\s*)?['"](\.[^'"]+)['"]/gm,
  ))
    out.push(m[1]);
  for (const m of text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) out.push(m[1]);
  return out;
}

/** Module (path relative to src/, `/`-separated) → the modules it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const from = relative(SRC, file).split(sep).join('/');
    const targets = relativeImports(readFileSync(file, 'utf8')).map((spec) =>
      relative(SRC, resolve(dirname(file), spec))
        .split(sep)
        .join('/'),
    );
    graph.set(from, targets);
  }
  return graph;
}

function folderOf(module: string): string {
  return module.includes('/') ? module.slice(0, module.indexOf('/')) : module;
}

/** Every import that breaks the layering, as `importer -> imported`. */
function layeringViolations(graph: Map<string, string[]>): string[] {
  const layer = new Map<string, number>();
  LAYERS.forEach((folders, i) => {
    for (const f of folders) layer.set(f, i);
  });
  const bad: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const edge = `${from} -> ${to}`;
      if (to === ROOT_ENTRY) {
        bad.push(`${edge} (nothing imports the package entry)`);
        continue;
      }
      if (from === ROOT_ENTRY) continue;
      const a = folderOf(from);
      const b = folderOf(to);
      if (a === b) continue;
      const la = layer.get(a);
      const lb = layer.get(b);
      if (la === undefined || lb === undefined) {
        bad.push(`${edge} (folder ${la === undefined ? a : b}/ has no layer: add it to LAYERS)`);
        continue;
      }
      if (lb < la) continue;
      if (lb === la && SAME_LAYER.some(([x, y]) => x === a && y === b)) continue;
      if (KNOWN_UPWARD.includes(edge)) continue;
      bad.push(`${edge} (${b}/ is ${lb === la ? 'beside' : 'above'} ${a}/)`);
    }
  }
  return bad.sort();
}

/** The import cycles: strongly connected components of more than one module, or a module importing itself. */
function cycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, iterative so a deep import chain cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { v: string; i: number }[] = [{ v: start, i: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const targets = graph.get(top.v) ?? [];
      if (top.i < targets.length) {
        const w = targets[top.i++];
        if (!graph.has(w)) continue;
        if (!index.has(w)) {
          index.set(w, next);
          low.set(w, next++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v) ?? 0, index.get(w) ?? 0));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].v;
        low.set(parent, Math.min(low.get(parent) ?? 0, low.get(top.v) ?? 0));
      }
      if (low.get(top.v) === index.get(top.v)) {
        const scc: string[] = [];
        let w: string | undefined;
        do {
          w = stack.pop();
          if (w === undefined) break;
          onStack.delete(w);
          scc.push(w);
        } while (w !== top.v);
        if (scc.length > 1 || targets.includes(top.v)) found.push(scc.sort());
      }
    }
  }
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

test('no top-level folder of src/ imports a folder above it or beside it', () => {
  assert.deepEqual(layeringViolations(importGraph()), []);
});

test('no import cycle between modules of src/', () => {
  assert.deepEqual(cycles(importGraph()), []);
});

test('every known upward import still exists (a fixed one is removed from the list)', () => {
  const graph = importGraph();
  const edges = new Set([...graph].flatMap(([from, targets]) => targets.map((to) => `${from} -> ${to}`)));
  assert.deepEqual(
    KNOWN_UPWARD.filter((e) => !edges.has(e)),
    [],
  );
});

test('the checks catch what they are for: an upward import, a sideways one, a cycle, a type-only import', () => {
  const graph = new Map<string, string[]>([
    ['core/a.ts', ['core/b.ts']],
    ['core/b.ts', ['core/a.ts']],
    ['store/s.ts', ['serve/x.ts', 'data/d.ts']],
    ['pipeline/p.ts', ['eval/e.ts']],
    ['eval/e.ts', ['pipeline/p.ts']],
    ['serve/x.ts', ['serve/x.ts']],
    ['data/d.ts', []],
  ]);
  assert.deepEqual(layeringViolations(graph), [
    'pipeline/p.ts -> eval/e.ts (eval/ is beside pipeline/)',
    'store/s.ts -> data/d.ts (data/ is beside store/)',
    'store/s.ts -> serve/x.ts (serve/ is above store/)',
  ]);
  assert.deepEqual(cycles(graph), [
    ['core/a.ts', 'core/b.ts'],
    ['eval/e.ts', 'pipeline/p.ts'],
    ['serve/x.ts'],
  ]);
  const text = [
    "import type { A } from '../serve/app.ts';",
    'import {',
    '  b,',
    '  type C,',
    "} from './c.ts';",
    "export * from './d.ts';",
    "export { e as f } from './e.ts';",
    "const g = await import('./g.ts');",
    "import 'node:fs';",
    "export function h() { return i('from', './not-an-import.ts'); }",
  ].join('\n');
  assert.deepEqual(relativeImports(text), ['../serve/app.ts', './c.ts', './d.ts', './e.ts', './g.ts']);
});
