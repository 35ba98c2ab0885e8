/**
 * Every error simrec raises on purpose carries a stable code. The table below is the one place codes are
 * declared; `serve/errors.ts` (later) is the one place a code becomes an HTTP status, and `docs/errors.md` is
 * kept in step with this table by a test.
 */
export const ERROR_CODES = {
  INPUT_MISSING: 'A required input file or directory does not exist',
  INPUT_EMPTY: 'A required input file has no data rows',
  INPUT_BAD_ROW: 'A row of an input file is malformed (empty id, non-numeric value, bad timestamp, ...)',
  INPUT_BAD_HEADER: 'An input file header is malformed (unknown, missing or duplicate column)',
  INPUT_FORMAT: 'An input file is in a format simrec cannot read',
  INPUT_TOO_MANY_BAD_ROWS: 'More bad rows than a job reports one by one',
  CONFIG_INVALID: 'A configuration value or command-line option is invalid',
  ARTIFACT_MISSING: 'The artifact directory or the requested version does not exist',
  ARTIFACT_CORRUPT: 'An artifact version failed verification',
  ARTIFACT_LOCKED: 'Another build is writing to this artifact directory',
  ARTIFACT_IO:
    'Reading or writing the artifact directory failed (not a directory, disk full, file too large, ...)',
  NOT_FOUND: 'The requested entity is unknown',
  INTERNAL: 'An unexpected internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetail {
  file?: string;
  line?: number;
  column?: string;
  field?: string;
}

export class SimrecError extends Error {
  readonly code: ErrorCode;
  readonly detail: ErrorDetail;

  constructor(code: ErrorCode, message: string, detail: ErrorDetail = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SimrecError';
    this.code = code;
    this.detail = detail;
  }

  /** `FILE:LINE: column X: reason`, the form every input error is printed in. */
  override toString(): string {
    const { file, line, column } = this.detail;
    const where = file ? `${file}${line !== undefined ? `:${line}` : ''}: ` : '';
    const col = column ? `column ${column}: ` : '';
    return `${where}${col}${this.message}`;
  }
}

export function isSimrecError(e: unknown): e is SimrecError {
  return e instanceof SimrecError;
}
