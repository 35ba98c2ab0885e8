/** Entry point of a `simrec serve --workers N` cluster worker (forked by server.ts). */
import { runClusterWorker } from './server.ts';

await runClusterWorker();
