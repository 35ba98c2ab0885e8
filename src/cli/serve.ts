import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { SimrecError } from '../core/errors.ts';
import { DEFAULT_MAX_LAG_EVENTS } from '../serve/app.ts';
import { API_KEYS_ENV, isLoopbackHost, loadApiKeys } from '../serve/auth.ts';
import { DEFAULT_HEALTH_STALL_MS } from '../serve/health-port.ts';
import { DEFAULT_BACKLOG, startServer, untilSignalled } from '../serve/server.ts';
import { INTERESTED_IN_SCORES, type InterestedInScore } from '../simclusters/interested-in.ts';
import { localStoreDirectory } from '../store/open.ts';
import { type Command, intOption, parseOptions, required } from './command.ts';

const HELP = `usage: simrec serve --artifacts LOC [--host 127.0.0.1] [--port 8080] [--workers N|auto]

Serves the artifact directory's current version over HTTP (OpenAPI at /docs), and takes events and item
changes (POST /v1/events, POST /v1/items, DELETE /v1/items/:id) into the event log in LOC/events/, which every
serving process applies to what it answers. A version committed by a later
build is picked up without a restart (checked every --poll-ms, and at once on SIGHUP); SIGTERM or SIGINT
finish the requests in flight and exit.

options:
  --artifacts LOC     artifact store directory or file:// URL (must exist; the server is ready once it holds a committed version)
  --host H            address to listen on (default 127.0.0.1)
  --port P            port (default 8080; 0 picks a free one)
  --backlog N         connections the kernel may queue before the server accepts them (default 4096; Linux caps
                      it at net.core.somaxconn)
  --workers N         processes sharing the port: an integer, or auto for one per CPU (default 1)
  --user-score KIND   InterestedIn kind a user source uses (default logFavScoreClusterNormalized)
  --poll-ms MS        how often to look for a new version (default 1000; 0: only on SIGHUP)
  --body-limit BYTES  largest request body (default 1048576)
  --max-queue-ms MS   shed load (503 SERVER_OVERLOADED, Retry-After: 1): a request that waited more than MS
                      before its handler (default 20; 0 turns all shedding off); /healthz, /readyz and
                      /metrics are never shed
  --max-delay MS      also shed while the event loop's mean delay over 100 ms exceeds MS (default: off)
  --max-heap-mb MB    also shed while the V8 heap in use exceeds MB (default 90% of the heap limit)
  --log-level L       pino level of the JSON log on stderr: info (default), warn, error, silent
  --api-keys FILE     API keys, one per line (# comments): POST /v1/events, POST /v1/items and
                      DELETE /v1/items/:id then need one (Authorization: Bearer KEY or X-API-Key: KEY), else 401.
                      Keys may also come from the environment variable SIMREC_API_KEYS (comma-separated);
                      both together accept either
  --max-lag-events N  POST /v1/events answers 429 (Retry-After: 1) while this process has not applied more than
                      N records of the event log (default 50000): the backlog and its memory stay bounded
  --protect-reads     with keys: every /v1 route needs a key, reads included (/healthz, /readyz, /metrics
                      and /docs stay open)
  --health-port P     also answer GET /healthz on port P (0 picks a free one) from a thread of its own, so
                      request load cannot delay a liveness probe: 200 while every request loop ran within
                      --health-stall-ms, else 503 SERVER_STALLED (default: no health port)
  --health-stall-ms MS  how long a request loop may not run before the health port reports it (default 10000)

Listening on an address other than loopback without API keys prints a warning: anyone who can reach the
port could then write events and items.
`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve candidates, embeddings and clusters over HTTP',
  help: HELP,
  async run(argv) {
    const v = parseOptions(argv, {
      artifacts: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      backlog: { type: 'string' },
      workers: { type: 'string' },
      'user-score': { type: 'string' },
      'poll-ms': { type: 'string' },
      'body-limit': { type: 'string' },
      'max-queue-ms': { type: 'string' },
      'max-delay': { type: 'string' },
      'max-heap-mb': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      'api-keys': { type: 'string' },
      'protect-reads': { type: 'boolean', default: false },
      'max-lag-events': { type: 'string' },
      'health-port': { type: 'string' },
      'health-stall-ms': { type: 'string' },
    });
    // A file:// URL is served as its directory; workers and the primary then agree on one path.
    const artifacts = localStoreDirectory(required(v, 'artifacts'), 'artifacts');
    if (!existsSync(artifacts))
      throw new SimrecError('ARTIFACT_MISSING', `artifact directory ${artifacts} does not exist`, {
        file: artifacts,
        field: 'artifacts',
      });
    const port = intOption(v, 'port', 8080, 0);
    if (port > 65535)
      throw new SimrecError('CONFIG_INVALID', `--port must be in [0, 65535], got ${port}`, { field: 'port' });
    const workers = v.workers === 'auto' ? availableParallelism() : intOption(v, 'workers', 1, 1);
    const userScore = v['user-score'] as InterestedInScore | undefined;
    if (userScore !== undefined && !INTERESTED_IN_SCORES.includes(userScore))
      throw new SimrecError(
        'CONFIG_INVALID',
        `--user-score must be one of ${INTERESTED_IN_SCORES.join(', ')}, got '${userScore}'`,
        { field: 'user-score' },
      );
    const logLevel = v['log-level'] as string;
    if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
      throw new SimrecError('CONFIG_INVALID', `--log-level must be a pino level, got '${logLevel}'`, {
        field: 'log-level',
      });
    const healthPort = v['health-port'] === undefined ? undefined : intOption(v, 'health-port', 0, 0);
    if (healthPort !== undefined && healthPort > 65535)
      throw new SimrecError('CONFIG_INVALID', `--health-port must be in [0, 65535], got ${healthPort}`, {
        field: 'health-port',
      });
    if (healthPort !== undefined && healthPort !== 0 && healthPort === port)
      throw new SimrecError('CONFIG_INVALID', '--health-port must differ from --port', {
        field: 'health-port',
      });
    const maxQueue = intOption(v, 'max-queue-ms', 20, 0);
    const maxDelay = intOption(v, 'max-delay', 0, 0);
    const maxHeapMb = v['max-heap-mb'] === undefined ? undefined : intOption(v, 'max-heap-mb', 0, 1);
    const envKeys = process.env[API_KEYS_ENV];
    const apiKeys =
      v['api-keys'] === undefined && envKeys === undefined
        ? []
        : loadApiKeys({ file: v['api-keys'] as string | undefined, env: envKeys });
    const protectReads = v['protect-reads'] === true;
    if (protectReads && apiKeys.length === 0)
      throw new SimrecError(
        'CONFIG_INVALID',
        `--protect-reads needs API keys (--api-keys FILE or ${API_KEYS_ENV})`,
        { field: 'protect-reads' },
      );
    const host = v.host as string;
    if (apiKeys.length === 0 && !isLoopbackHost(host))
      process.stderr.write(
        `simrec serve: warning: listening on ${host} without API keys: anyone who can reach this port can write ` +
          `events and items; give --api-keys FILE or ${API_KEYS_ENV}\n`,
      );
    const server = await startServer({
      artifacts,
      host,
      port,
      backlog: intOption(v, 'backlog', DEFAULT_BACKLOG, 1),
      workers,
      userScore,
      pollMs: intOption(v, 'poll-ms', 1000, 0),
      bodyLimit: intOption(v, 'body-limit', 1 << 20, 1),
      logLevel,
      apiKeys,
      protectReads,
      events: { maxLagEvents: intOption(v, 'max-lag-events', DEFAULT_MAX_LAG_EVENTS, 1) },
      healthPort,
      healthStallMs: intOption(v, 'health-stall-ms', DEFAULT_HEALTH_STALL_MS, 1),
      pressure:
        maxQueue === 0
          ? false
          : {
              maxQueueMs: maxQueue,
              maxEventLoopDelayMs: maxDelay,
              maxHeapUsedBytes: maxHeapMb === undefined ? undefined : maxHeapMb * 2 ** 20,
            },
    });
    process.stdout.write(
      `simrec serve: listening on ${server.url} (${server.workers} worker${server.workers > 1 ? 's' : ''}); docs at ${server.url}/docs` +
        `${server.healthUrl ? `; health checks also at ${server.healthUrl}/healthz` : ''}\n`,
    );
    await untilSignalled(server);
    process.stdout.write('simrec serve: stopped\n');
    return 0;
  },
};
