/**
 * Progress and log output for long jobs. On a terminal: progress bars (stage, items/s, ETA) and warnings, nothing
 * else — the human summary on stdout is what a person reads. Otherwise: JSON log lines (pino) on stderr, so CI and
 * pipelines can parse them. `--log-file FILE` also writes every JSON line to FILE (on a terminal, the only place
 * stage details go); `--quiet` keeps only warnings.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { type Logger, pino } from 'pino';

export type ProgressFn = (stage: string, done: number, total?: number) => void;

export interface Reporter {
  /** Report progress of a stage; cheap to call often (throttled inside). */
  progress: ProgressFn;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** Close any open bar; call once at the end. */
  close(): void;
}

export interface ReporterOptions {
  /** Defaults to whether stderr is a TTY. */
  tty?: boolean;
  /** Silence everything but warnings (`--quiet`, tests). */
  quiet?: boolean;
  stream?: NodeJS.WritableStream;
  /** Also write every JSON log line to this file (`--log-file`), whatever the terminal shows. */
  logFile?: string;
}

const LOG_INTERVAL_MS = 2000;

export function createReporter(opts: ReporterOptions = {}): Reporter {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? Boolean((stream as NodeJS.WriteStream).isTTY);
  const quiet = Boolean(opts.quiet);
  const reporters: Reporter[] = [tty ? new BarReporter(stream, quiet) : new JsonReporter(stream, quiet)];
  if (opts.logFile) reporters.push(new JsonReporter(new FileSink(opts.logFile), false, true));
  const r = reporters.length === 1 ? reporters[0] : new TeeReporter(reporters);
  // Bound, so `reporter.progress` can be handed around as a plain callback.
  return { progress: r.progress.bind(r), info: r.info.bind(r), warn: r.warn.bind(r), close: r.close.bind(r) };
}

class TeeReporter implements Reporter {
  constructor(private readonly to: Reporter[]) {}
  progress(stage: string, done: number, total?: number): void {
    for (const r of this.to) r.progress(stage, done, total);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    for (const r of this.to) r.info(msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    for (const r of this.to) r.warn(msg, fields);
  }
  close(): void {
    for (const r of this.to) r.close();
  }
}

/** A log file written synchronously line by line (a build's log must survive the build crashing). */
class FileSink {
  private fd: number | null;
  constructor(path: string) {
    this.fd = openSync(path, 'a');
  }
  write(chunk: string): boolean {
    if (this.fd !== null) writeSync(this.fd, chunk);
    return true;
  }
  end(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

class JsonReporter implements Reporter {
  private readonly log: Logger;
  private stage = '';
  private stageStart = 0;
  private lastLog = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream | FileSink,
    quiet: boolean,
    private readonly owned = false,
  ) {
    this.log = pino({ base: undefined, level: quiet ? 'warn' : 'info' }, stream as pino.DestinationStream);
  }

  progress(stage: string, done: number, total?: number): void {
    const now = Date.now();
    if (stage !== this.stage) {
      this.stage = stage;
      this.stageStart = now;
      this.lastLog = 0;
    }
    const finished = total !== undefined && done >= total;
    if (!finished && now - this.lastLog < LOG_INTERVAL_MS) return;
    this.lastLog = now;
    const secs = (now - this.stageStart) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = total !== undefined && rate > 0 ? (total - done) / rate : undefined;
    this.log.info(
      {
        stage,
        done,
        total,
        rate: Math.round(rate),
        etaSeconds: eta === undefined ? undefined : Math.round(eta),
      },
      'progress',
    );
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    this.log.info(fields ?? {}, msg);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log.warn(fields ?? {}, msg);
  }

  close(): void {
    this.log.flush?.();
    if (this.owned) (this.stream as FileSink).end();
  }
}

class BarReporter implements Reporter {
  private bar: cliProgress.SingleBar | null = null;
  private stage = '';
  private start = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly quiet: boolean,
  ) {}

  progress(stage: string, done: number, total?: number): void {
    if (this.quiet) return;
    if (stage !== this.stage) {
      this.bar?.stop();
      this.stage = stage;
      this.start = Date.now();
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream,
          format: `${stage.padEnd(18)} [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted}`,
          hideCursor: true,
          fps: 8,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total ?? 0, 0, { rate: 0 });
    }
    const secs = (Date.now() - this.start) / 1000;
    if (total !== undefined) this.bar!.setTotal(total);
    this.bar!.update(done, { rate: secs > 0 ? Math.round(done / secs) : 0 });
  }

  /** Stage details are for logs (JSON lines, `--log-file`), not for a person watching the bars. */
  info(_msg: string, _fields?: Record<string, unknown>): void {}

  warn(msg: string, _fields?: Record<string, unknown>): void {
    this.bar?.stop();
    this.bar = null;
    this.stage = '';
    this.stream.write(`warning: ${msg}\n`);
  }

  close(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
