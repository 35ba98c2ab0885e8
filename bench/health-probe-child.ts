/**
 * Child process of bench/overload.ts: GETs URL/healthz every INTERVAL ms over one keep-alive connection, in a
 * process of its own so the load generator's busy event loop does not inflate what it measures. On SIGTERM it
 * prints the latencies (ms) and statuses it saw as one JSON line and exits.
 */
import { Agent, request } from 'node:http';

const [url = 'http://127.0.0.1:8080', every = '50'] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const seen: { ms: number; status: number }[] = [];
let stopping = false;

function probe(): Promise<void> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(`${url}/healthz`, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        seen.push({ ms: performance.now() - t0, status: res.statusCode ?? 0 });
        resolve();
      });
    });
    req.on('error', () => {
      seen.push({ ms: performance.now() - t0, status: 0 });
      resolve();
    });
    req.end();
  });
}

process.on('SIGTERM', () => {
  stopping = true;
});
while (!stopping) {
  const t0 = performance.now();
  await probe();
  await new Promise((r) => setTimeout(r, Math.max(0, Number(every) - (performance.now() - t0))));
}
process.stdout.write(`${JSON.stringify(seen)}\n`, () => process.exit(0));
