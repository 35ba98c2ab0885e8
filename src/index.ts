/**
 * simrec's public API. Everything a library user may import is re-exported here by name.
 */
export { CsrMatrix, cooOrder, type Duplicates, rowOfEntry, transposeOrder } from './core/csr.ts';
export { ERROR_CODES, type ErrorCode, type ErrorDetail, isSimrecError, SimrecError } from './core/errors.ts';
export { IdMap } from './core/id-map.ts';
export { hashString, Rng } from './core/prng.ts';
export { CODE_VERSION } from './core/version.ts';
