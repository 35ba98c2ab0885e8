/**
 * A build that runs out of room: run by lmdb-store.test.ts under `ulimit -f` as
 * `node --import tsx io-failure-child.ts ROOT`. It writes more than the file-size limit allows into a new
 * version and prints, as one JSON line, the code and file of the error the store raised, or `{}` when none was.
 */
import { isSimrecError } from '../../core/errors.ts';
import { LmdbArtifactStore } from './lmdb-store.ts';

const store = new LmdbArtifactStore(process.argv[2] ?? '.');
let outcome: { code?: string; file?: string; message?: string } = {};
const writer = await store.createVersion();
try {
  for (let i = 0; i < 16; i++) await writer.putTypedArray(`big/${i}`, new Float64Array(1 << 17).fill(i));
  await writer.commit();
} catch (e) {
  await writer.abort().catch(() => undefined);
  outcome = isSimrecError(e)
    ? { code: e.code, file: e.detail.file, message: e.message }
    : { message: String(e) };
}
process.stdout.write(`${JSON.stringify(outcome)}\n`);
