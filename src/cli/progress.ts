/**
 * Progress and log output for long jobs: a progress bar (stage, items/s, ETA) when stderr is a terminal, JSON log
 * lines (pino) otherwise, so the same job is pleasant interactively and parseable in CI and pipelines.
 */
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
  /** Silence everything but warnings (tests). */
  quiet?: boolean;
  stream?: NodeJS.WritableStream;
}

const LOG_INTERVAL_MS = 2000;

export function createReporter(opts: ReporterOptions = {}): Reporter {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? Boolean((stream as NodeJS.WriteStream).isTTY);
  const r: Reporter =
    tty && !opts.quiet ? new BarReporter(stream) : new JsonReporter(stream, Boolean(opts.quiet));
  // Bound, so `reporter.progress` can be handed around as a plain callback.
  return { progress: r.progress.bind(r), info: r.info.bind(r), warn: r.warn.bind(r), close: r.close.bind(r) };
}

class JsonReporter implements Reporter {
  private readonly log: Logger;
  private stage = '';
  private stageStart = 0;
  private lastLog = 0;

  constructor(stream: NodeJS.WritableStream, quiet: boolean) {
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
  }
}

class BarReporter implements Reporter {
  private bar: cliProgress.SingleBar | null = null;
  private stage = '';
  private start = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  progress(stage: string, done: number, total?: number): void {
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

  info(msg: string, fields?: Record<string, unknown>): void {
    this.bar?.stop();
    this.bar = null;
    this.stage = '';
    this.stream.write(`${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    this.info(`warning: ${msg}`, fields);
  }

  close(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
