/**
 * API keys (issue 15 item 7, DESIGN §10). When keys are configured, every write route (events, items) needs one,
 * sent as `Authorization: Bearer KEY` or `X-API-Key: KEY`; with `protectReads` every /v1 route does. /healthz,
 * /readyz, /metrics and /docs stay open: probes and scrapers carry no key. The check runs in an onRequest hook,
 * before the body is read, so a refused request has written and parsed nothing.
 *
 * Keys are kept only as SHA-256 digests and a presented key is hashed before it is compared with
 * crypto.timingSafeEqual against every configured digest (no early exit): the comparison time depends neither
 * on how many leading characters match nor on the key's length.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SimrecError } from '../core/errors.ts';
import { make } from './errors.ts';
import type { SimrecFastify } from './route-context.ts';

/** The environment variable `simrec serve` reads keys from (comma-separated), beside `--api-keys FILE`. */
export const API_KEYS_ENV = 'SIMREC_API_KEYS';

/** Header names whose values are credentials: redacted from every log line (see {@link LOG_REDACT}). */
export const CREDENTIAL_HEADERS = ['authorization', 'x-api-key'] as const;

/** pino redaction paths for the credential headers, wherever a request or its headers are logged. */
export const LOG_REDACT = CREDENTIAL_HEADERS.flatMap((h) => [
  `req.headers["${h}"]`,
  `request.headers["${h}"]`,
  `headers["${h}"]`,
]);

/** Longest key accepted (longer presented values are refused without hashing megabytes). */
const MAX_KEY_LENGTH = 4096;
/** Printable ASCII without spaces: what a header value carries unchanged. */
const KEY_SYNTAX = /^[\x21-\x7e]+$/;

export interface AuthOptions {
  /** The accepted keys; none means no authentication. */
  keys: readonly string[];
  /** Require a key on read routes (/v1 GET and candidate queries) too (default false). */
  protectReads?: boolean;
}

/**
 * Keys from a file (one per line; blank lines and lines starting with # ignored; surrounding whitespace
 * trimmed) and from a comma-separated list (the SIMREC_API_KEYS value), in that order, duplicates removed.
 * A file or list given but holding no key is an error rather than an open server.
 * @throws SimrecError INPUT_MISSING (file absent), CONFIG_INVALID (no key, or a key with spaces or control
 *   characters, naming the file line or the variable)
 */
export function loadApiKeys(source: { file?: string; env?: string }): string[] {
  const keys: string[] = [];
  if (source.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'INPUT_MISSING' : 'CONFIG_INVALID';
      throw new SimrecError(
        code,
        `cannot read the API key file ${source.file}: ${(e as Error).message}`,
        { file: source.file, field: 'api-keys' },
        { cause: e },
      );
    }
    const lines = text.split(/\r?\n/);
    const before = keys.length;
    for (let i = 0; i < lines.length; i++) {
      const key = lines[i].trim();
      if (key === '' || key.startsWith('#')) continue;
      checkKey(key, { file: source.file, line: i + 1, field: 'api-keys' }, `${source.file}:${i + 1}`);
      keys.push(key);
    }
    if (keys.length === before)
      throw new SimrecError('CONFIG_INVALID', `the API key file ${source.file} holds no key`, {
        file: source.file,
        field: 'api-keys',
      });
  }
  if (source.env !== undefined) {
    const before = keys.length;
    const parts = source.env.split(',');
    for (let i = 0; i < parts.length; i++) {
      const key = parts[i].trim();
      if (key === '') continue;
      checkKey(key, { field: API_KEYS_ENV }, `${API_KEYS_ENV} entry ${i + 1}`);
      keys.push(key);
    }
    if (keys.length === before)
      throw new SimrecError('CONFIG_INVALID', `${API_KEYS_ENV} is set but holds no key`, {
        field: API_KEYS_ENV,
      });
  }
  return [...new Set(keys)];
}

// The message names where the bad key is, never the key.
function checkKey(key: string, detail: SimrecError['detail'], where: string): void {
  if (key.length > MAX_KEY_LENGTH || !KEY_SYNTAX.test(key))
    throw new SimrecError(
      'CONFIG_INVALID',
      `${where}: an API key must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters without spaces`,
      detail,
    );
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Checks presented keys against the configured ones in constant time. */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  /** Whether `presented` is one of the keys. Every digest is compared whatever matched first. */
  accepts(presented: string | undefined): boolean {
    if (presented === undefined || presented.length === 0 || presented.length > MAX_KEY_LENGTH) return false;
    const d = digest(presented);
    let ok = false;
    for (const k of this.digests) ok = timingSafeEqual(d, k) || ok;
    return ok;
  }
}

/** The key a request presents: `Authorization: Bearer KEY` (scheme case-insensitive) or `X-API-Key: KEY`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    if (m) return m[1];
  }
  const x = request.headers['x-api-key'];
  return typeof x === 'string' ? x.trim() : undefined;
}

/** Whether a route needs a key: a write route always, a /v1 read route when reads are protected. */
function guarded(request: FastifyRequest, protectReads: boolean): boolean {
  if (request.routeOptions.config.write) return true;
  return protectReads && (request.routeOptions.url ?? '').startsWith('/v1/');
}

/**
 * Registers the key check (before the routes). Without keys it registers nothing: every route is open, as
 * before keys existed.
 */
export function registerAuth(app: SimrecFastify, options: AuthOptions): void {
  if (options.keys.length === 0) return;
  const keys = new ApiKeys(options.keys);
  const protectReads = options.protectReads ?? false;
  const refuse = (request: FastifyRequest, reply: FastifyReply) => {
    const missing = presentedKey(request) === undefined;
    reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .type('application/json; charset=utf-8')
      .send(
        make(
          401,
          'UNAUTHORIZED',
          missing
            ? 'this route needs an API key: send Authorization: Bearer KEY or X-API-Key: KEY'
            : 'the API key is not valid',
          'authorization',
        ).body,
      );
  };
  app.addHook('onRequest', (request, reply, done) => {
    if (!guarded(request, protectReads) || keys.accepts(presentedKey(request))) return done();
    refuse(request, reply);
  });
}

/** Whether a listen address is reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
