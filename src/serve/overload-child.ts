/**
 * A server for the overload test (overload.test.ts), run as `node --import tsx overload-child.ts DIR BURN_MS`:
 * the application over a small artifact version, with load shedding on, plus one route that holds the event
 * loop for BURN_MS per request, so a handful of client connections are several times its capacity. Prints
 * `{"port": …}` once listening; exits on SIGTERM.
 */

import { SMALL_FIXTURE, writeTestArtifacts } from '../query/test-fixtures.ts';
import { buildApp } from './app.ts';

const [dir = '.', burn = '10'] = process.argv.slice(2);
const burnMs = Number(burn);
await writeTestArtifacts(dir, SMALL_FIXTURE);
const app = await buildApp({
  artifacts: dir,
  pollMs: 0,
  docs: false,
  pressure: {},
  extraRoutes: (a) =>
    a.get('/burn', async () => {
      const until = performance.now() + burnMs;
      while (performance.now() < until);
      return { status: 'ok' };
    }),
});
await app.listen({ host: '127.0.0.1', port: 0 });
const { port } = app.server.address() as { port: number };
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
