/**
 * A server for the crash test (crash.test.ts), run as `node --import tsx events-child.ts DIR`: the application
 * over DIR (a small artifact version is written on the first start) with its event log in DIR/events/. Prints
 * `{"port": …}` once listening; the test kills it with SIGKILL and starts it again on the same DIR.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SMALL_FIXTURE, writeTestArtifacts } from '../query/test-fixtures.ts';
import { buildApp } from './app.ts';

const [dir = '.'] = process.argv.slice(2);
if (!existsSync(join(dir, 'current'))) await writeTestArtifacts(dir, SMALL_FIXTURE);
const app = await buildApp({ artifacts: dir, pollMs: 0, docs: false });
await app.listen({ host: '127.0.0.1', port: 0 });
const { port } = app.server.address() as { port: number };
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
