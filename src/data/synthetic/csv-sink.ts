/**
 * A streamed CSV writer for generated data. Rows are encoded byte by byte into a 1 MB buffer (ASCII digits
 * for integers, pre-encoded bytes for constant strings), so writing a row allocates nothing; a full buffer is
 * handed to the file (or gzip) stream and the writer waits for 'drain' when the stream pushes back. Memory
 * stays at a few buffers however large the file.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** Buffer size: large enough that stream overhead is negligible, small enough to bound memory. */
const CHUNK = 1 << 20;
/**
 * A row must fit in the space left after the flush threshold; generators check `needsFlush` after each row.
 * Longer byte strings go through `bytes`, which grows the buffer when it has to.
 */
const HEADROOM = 8192;

const COMMA = 44;
const NEWLINE = 10;
const DOT = 46;
const ZERO = 48;

const encoder = new TextEncoder();

/** "00" "01" … "99" as ASCII byte pairs. */
const DIGIT_PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  DIGIT_PAIRS[2 * i] = ZERO + Math.floor(i / 10);
  DIGIT_PAIRS[2 * i + 1] = ZERO + (i % 10);
}

/** UTF-8 bytes of a string, encoded once and written many times. */
export function encodeBytes(s: string): Uint8Array {
  return encoder.encode(s);
}

export class CsvSink {
  /** Data rows written so far (the header is not counted). */
  rows = 0;
  private buf: Buffer = Buffer.allocUnsafeSlow(CHUNK);
  private pos = 0;
  private failure: unknown = null;

  private constructor(
    readonly path: string,
    private readonly out: Writable,
    private readonly finished: Promise<void>,
  ) {}

  /**
   * Opens path for writing (truncating it) and writes the header line. With gzip the bytes go through
   * zlib's gzip stream first; Node writes no timestamp into the gzip header, so the output is reproducible.
   */
  static open(path: string, header: string, gzip: boolean): CsvSink {
    const file = createWriteStream(path);
    let sink: CsvSink;
    if (gzip) {
      const gz = createGzip();
      sink = new CsvSink(path, gz, pipeline(gz, file));
    } else {
      sink = new CsvSink(
        path,
        file,
        once(file, 'close').then(() => undefined),
      );
      // createWriteStream reports open/write errors as 'error' events; keep the first one for flush/close.
      file.on('error', (e) => {
        sink.failure ??= e;
      });
    }
    sink.finished.catch((e) => {
      sink.failure ??= e;
    });
    sink.text(header);
    sink.buf[sink.pos++] = NEWLINE; // the header is not a row

    return sink;
  }

  /** True once the buffer is past its flush threshold: the caller should `await flush()`. */
  get needsFlush(): boolean {
    return this.pos >= CHUNK - HEADROOM;
  }

  /** A non-negative integer (up to 2^53) in decimal. */
  int(n: number): void {
    if (n >= 2147483648) {
      this.bigInt(n);
      return;
    }
    const buf = this.buf;
    // Digit count by comparisons, then two digits per division in int32 arithmetic.
    const digits =
      n < 100000
        ? n < 100
          ? n < 10
            ? 1
            : 2
          : n < 1000
            ? 3
            : n < 10000
              ? 4
              : 5
        : n < 10000000
          ? n < 1000000
            ? 6
            : 7
          : n < 100000000
            ? 8
            : n < 1000000000
              ? 9
              : 10;
    let p = this.pos + digits;
    let v = n | 0;
    while (v >= 100) {
      const q = (v / 100) | 0;
      const r = (v - q * 100) << 1;
      buf[--p] = DIGIT_PAIRS[r + 1];
      buf[--p] = DIGIT_PAIRS[r];
      v = q;
    }
    if (v >= 10) {
      buf[--p] = DIGIT_PAIRS[(v << 1) + 1];
      buf[--p] = DIGIT_PAIRS[v << 1];
    } else buf[--p] = ZERO + v;
    this.pos += digits;
  }

  private bigInt(n: number): void {
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      this.buf[--p] = ZERO + (n - q * 10);
      n = q;
    }
    this.buf[--p] = ZERO + n;
    this.pos += digits;
  }

  /**
   * A value in [0, 1] given in millionths, as the shortest exact decimal: 1000000 → `1`, 250000 → `0.25`,
   * 1 → `0.000001`. Integers in, so the text is exact and sums of a row's values are exact too.
   */
  millionths(ppm: number): void {
    const buf = this.buf;
    if (ppm >= 1000000) {
      buf[this.pos++] = ZERO + 1;
      return;
    }
    buf[this.pos++] = ZERO;
    if (ppm <= 0) return;
    buf[this.pos++] = DOT;
    let len = 6;
    let v = ppm;
    while (v % 10 === 0) {
      v /= 10;
      len--;
    }
    let p = this.pos + len;
    for (let i = 0; i < len; i++) {
      const q = Math.floor(v / 10);
      buf[--p] = ZERO + (v - q * 10);
      v = q;
    }
    this.pos += len;
  }

  comma(): void {
    this.buf[this.pos++] = COMMA;
  }

  /** Ends a row. */
  endRow(): void {
    this.buf[this.pos++] = NEWLINE;
    this.rows++;
  }

  /** Pre-encoded bytes (ids, tags, constant fields). */
  bytes(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length) this.grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A string, encoded on the spot: for headers and rare fields, not for per-row values. */
  text(s: string): void {
    this.bytes(encoder.encode(s));
  }

  /** Hands the buffered bytes to the stream, waiting while the stream is over its high-water mark. */
  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.pos === 0) return;
    const chunk = this.buf.subarray(0, this.pos);
    // The stream keeps a reference to chunk until written, so the next rows go into a fresh buffer.
    this.buf = Buffer.allocUnsafeSlow(CHUNK);
    this.pos = 0;
    if (!this.out.write(chunk)) await Promise.race([once(this.out, 'drain'), this.finished]);
    if (this.failure) throw this.failure;
  }

  /** Flushes, ends the stream and waits until the file is complete on disk. */
  async close(): Promise<void> {
    await this.flush();
    this.out.end();
    await this.finished;
    if (this.failure) throw this.failure;
  }

  private grow(extra: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + extra + HEADROOM));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}
