/**
 * The one place an error becomes an HTTP response. Every error body is `{ error: { code, message, field? } }`:
 * a SimrecError keeps its code (NOT_FOUND → 404, CONFIG_INVALID → 400, ARTIFACT_MISSING → 503, ...), and what
 * Fastify or Node's HTTP parser reject before a route runs (malformed JSON, schema violations, bodies too large,
 * wrong media types, unknown routes, bad %-escapes, over-long path parameters, oversized headers, shed load)
 * gets one of the HTTP-level codes below. Anything else is a bug: 500 INTERNAL, logged with its stack, and its
 * message is not shown to the client. A 503 is the deployment's state, not a bug: logged at warn, no stack.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, isSimrecError } from '../core/errors.ts';

/** Codes only the HTTP layer gives (they describe a request, not a simrec operation). */
export const HTTP_ERROR_CODES = {
  REQUEST_INVALID:
    'The request is malformed: invalid JSON, an empty body, a wrong type, an unknown field, or a value out of range',
  BODY_TOO_LARGE: 'The request body is larger than the server accepts',
  UNSUPPORTED_MEDIA_TYPE: 'The request body is not JSON',
  ROUTE_NOT_FOUND: 'No route matches the method and path',
  HEADERS_TOO_LARGE: 'The request line and headers are larger than the HTTP parser accepts',
  REQUEST_TIMEOUT: 'The request did not arrive in full in time',
  SERVER_OVERLOADED: 'The server is shedding load; retry after the seconds in the Retry-After header',
  SERVER_STALLED:
    'On the health port: a request loop has not run for longer than the stall limit (the process is not live)',
  UNAUTHORIZED:
    'The route needs an API key (Authorization: Bearer KEY or X-API-Key: KEY) and none valid was sent',
  LOG_BACKLOG:
    'The event log is ahead of what this server has applied by more than its bound; retry after the seconds in the Retry-After header',
} as const;

export type HttpErrorCode = ErrorCode | keyof typeof HTTP_ERROR_CODES;

/** HTTP status of every code a response can carry. */
export const HTTP_STATUS: Readonly<Record<HttpErrorCode, number>> = {
  INPUT_MISSING: 400,
  INPUT_EMPTY: 400,
  INPUT_BAD_ROW: 400,
  INPUT_BAD_HEADER: 400,
  INPUT_FORMAT: 400,
  INPUT_TOO_MANY_BAD_ROWS: 400,
  CONFIG_INVALID: 400,
  REQUEST_INVALID: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  LOG_BACKLOG: 429,
  // The server has nothing (or nothing usable) to answer from: a state of the deployment, not of the request.
  ARTIFACT_MISSING: 503,
  ARTIFACT_LOCKED: 503,
  ARTIFACT_CORRUPT: 503,
  ARTIFACT_IO: 503,
  SERVER_OVERLOADED: 503,
  SERVER_STALLED: 503,
  INTERNAL: 500,
};

export interface ErrorBody {
  error: { code: HttpErrorCode; message: string; field?: string };
}

export interface HttpError {
  status: number;
  body: ErrorBody;
  /** A bug, worth logging with its stack (a 503 is logged at warn, without one). */
  internal: boolean;
}

/**
 * A request a route refuses after reading it, with an HTTP-level code (e.g. a write body that fails the data
 * rules: REQUEST_INVALID naming the field as the client wrote it).
 */
export class RequestError extends Error {
  readonly code: keyof typeof HTTP_ERROR_CODES;
  readonly field: string | undefined;

  constructor(code: keyof typeof HTTP_ERROR_CODES, message: string, field?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RequestError';
    this.code = code;
    this.field = field;
  }
}

/** The response for any error a request raised. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof RequestError) return make(HTTP_STATUS[err.code], err.code, err.message, err.field);
  if (isSimrecError(err)) {
    const status = HTTP_STATUS[err.code] ?? 500;
    // ARTIFACT_* messages name server paths; a client learns only that the server cannot answer.
    const hide = status >= 500 && err.code !== 'ARTIFACT_MISSING';
    const message = !hide
      ? err.message
      : status === 503
        ? 'the served artifact version is unusable; the server cannot answer'
        : 'internal error';
    // A hidden error's field names a stored entry, not a request field.
    return make(status, err.code, message, hide ? undefined : err.detail.field, status === 500);
  }
  const fe = err as Partial<FastifyError> & { validationContext?: string };
  if (fe && typeof fe === 'object') {
    if (Array.isArray(fe.validation)) {
      const { field, message } = describeValidation(fe.validation, fe.validationContext);
      return make(400, 'REQUEST_INVALID', message, field);
    }
    switch (fe.code) {
      case 'FST_ERR_BAD_URL':
        return make(400, 'REQUEST_INVALID', 'the URL holds a malformed %-escape', 'url');
      case 'FST_ERR_MAX_PARAM_LENGTH':
        return make(
          400,
          'REQUEST_INVALID',
          `a path parameter is longer than ${MAX_PARAM_LENGTH} characters (ids are at most ${MAX_ID_LENGTH})`,
          'url',
        );
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return make(413, 'BODY_TOO_LARGE', fe.message ?? 'request body is too large', 'body');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return make(
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          'the request body must be application/json',
          'content-type',
        );
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return make(400, 'REQUEST_INVALID', 'the request body is empty; send a JSON object', 'body');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return make(
          400,
          'REQUEST_INVALID',
          'the request body is not valid JSON (or holds a __proto__ or constructor.prototype key)',
          'body',
        );
    }
    const status = fe.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // JSON syntax errors, proto poisoning, bad content-length, bad URLs: Fastify marks them 4xx itself.
      const field = fe instanceof SyntaxError || /json/i.test(fe.message ?? '') ? 'body' : undefined;
      if (status === 413)
        return make(413, 'BODY_TOO_LARGE', fe.message ?? 'request body is too large', 'body');
      if (status === 415) return make(415, 'UNSUPPORTED_MEDIA_TYPE', fe.message ?? 'unsupported media type');
      if (status === 404) return make(404, 'ROUTE_NOT_FOUND', fe.message ?? 'not found');
      return make(400, 'REQUEST_INVALID', fe.message ?? 'bad request', field);
    }
  }
  return make(500, 'INTERNAL', 'internal error', undefined, true);
}

/** Longest path parameter the router accepts (longer ones: FST_ERR_MAX_PARAM_LENGTH). */
export const MAX_PARAM_LENGTH = 4096;
/** REQUEST_LIMITS.idLength, repeated so this module depends on nothing route-specific. */
const MAX_ID_LENGTH = 1024;

export function make(
  status: number,
  code: HttpErrorCode,
  message: string,
  field?: string,
  internal = false,
): HttpError {
  const error: ErrorBody['error'] = { code, message };
  if (field !== undefined) error.field = field;
  return { status, body: { error }, internal };
}

interface ValidationIssue {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * The field a schema violation names: the JSON pointer of the first error as a dotted path (`params.limit`,
 * `source.embedding.3.0`), extended by the property a `required` or `additionalProperties` error is about.
 */
function describeValidation(
  issues: ValidationIssue[],
  context: string | undefined,
): { field: string; message: string } {
  const first = issues[0] ?? {};
  const parts = (first.instancePath ?? '')
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  const p = first.params ?? {};
  let what = first.message ?? 'is invalid';
  if (
    first.keyword === 'required' &&
    Array.isArray(p.requiredProperties) &&
    p.requiredProperties.length > 0
  ) {
    parts.push(String(p.requiredProperties[0]));
    what = 'is required';
  } else if (first.keyword === 'additionalProperties' && Array.isArray(p.additionalProperties)) {
    parts.push(String(p.additionalProperties[0]));
    what = 'is not a known field';
  } else if (first.keyword === 'boolean') {
    // `additionalProperties: false` reported at the extra property itself
    what = 'is not a known field';
  } else if (first.keyword === 'enum' && Array.isArray(p.allowedValues)) {
    what = `must be one of ${p.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  const field = parts.length > 0 ? parts.join('.') : (context ?? 'body');
  return { field, message: `${field} ${what}` };
}

/** Fastify error handler: logs what is internal and answers with the error body. */
export function handleError(
  this: unknown,
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const e = toHttpError(err);
  if (e.internal) request.log.error({ err }, 'request failed');
  else if (e.status === 503)
    request.log.warn({ code: e.body.error.code, url: request.url }, (err as Error).message);
  reply.code(e.status).type('application/json; charset=utf-8').send(e.body);
}

/** Fastify `frameworkErrors`: a bad %-escape or an over-long path parameter, met before routing. */
export function handleFrameworkError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const e = toHttpError(err);
  reply.code(e.status).type('application/json; charset=utf-8').send(e.body);
}

/**
 * Fastify `clientErrorHandler`: what Node's HTTP parser rejects (a malformed request line or header, headers
 * beyond --max-http-header-size, a request that never completes) never reaches Fastify's routing, so the answer
 * is written to the socket here, in the same shape, and the connection closed as Node itself would.
 */
export function handleClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? make(431, 'HEADERS_TOO_LARGE', 'the request line and headers exceed the size the server accepts')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? make(408, 'REQUEST_TIMEOUT', 'the request did not arrive in full in time')
        : make(400, 'REQUEST_INVALID', `the request is not valid HTTP (${err.code ?? 'parse error'})`);
  const body = JSON.stringify(e.body);
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}

/** Fastify not-found handler: unknown method or path. */
export function handleNotFound(request: FastifyRequest, reply: FastifyReply): void {
  const body: ErrorBody = {
    error: {
      code: 'ROUTE_NOT_FOUND',
      message: `no route ${request.method} ${request.url.split('?')[0].slice(0, 200)}`,
    },
  };
  reply.code(404).type('application/json; charset=utf-8').send(body);
}
