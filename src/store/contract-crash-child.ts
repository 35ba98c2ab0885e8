/**
 * A build that dies: run by the contract suite as `node --import tsx contract-crash-child.ts '<spec json>'`.
 * It opens a store through a factory named by module and export, starts a version, writes, prints
 * `{"id": …}` and then either kills itself with SIGKILL mid-write (mode "kill") or exits normally without
 * committing (mode "exit").
 */
import type { ArtifactStore } from './store.ts';

interface ChildSpec {
  module: string;
  /** `fn` or `Class.method`, called with `arg`. */
  export: string;
  arg: unknown;
  mode: 'kill' | 'exit';
}

type Factory = (arg: unknown) => ArtifactStore | Promise<ArtifactStore>;

const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
const mod = (await import(spec.module)) as Record<string, Record<string, unknown>>;
const [name, method] = spec.export.split('.');
const factory = (method ? (mod[name][method] as Factory).bind(mod[name]) : mod[name]) as unknown as Factory;
const store = await factory(spec.arg);
const writer = await store.createVersion();
await writer.putJson('crash/meta', { crashed: true });
await writer.putTypedArray('crash/a', new Float32Array(1 << 18).fill(3));
await new Promise<void>((done) =>
  process.stdout.write(`${JSON.stringify({ id: writer.id })}\n`, () => done()),
);
if (spec.mode === 'exit') process.exit(0);
for (let i = 0; ; i++) {
  await writer.putTypedArray(`crash/more-${i}`, new Int32Array(1 << 16).fill(i));
  if (i === 3) process.kill(process.pid, 'SIGKILL');
}
