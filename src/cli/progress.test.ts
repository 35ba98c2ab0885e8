import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createReporter } from './progress.ts';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { stream, text: () => text };
}

test('on a terminal: no log lines, warnings as plain lines; the log file gets every JSON line', () => {
  const out = sink();
  const logFile = join(mkdtempSync(join(tmpdir(), 'simrec-log-')), 'build.log');
  const r = createReporter({ tty: true, quiet: true, stream: out.stream, logFile });
  r.info('stage similarity done', { seconds: 1.5 });
  r.progress('known-for', 1, 5);
  r.warn('threads capped');
  r.close();
  assert.equal(out.text(), 'warning: threads capped\n');
  const lines = readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string; level: number; stage?: string; seconds?: number });
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['stage similarity done', 'progress', 'threads capped'],
  );
  assert.equal(lines[0].seconds, 1.5);
  assert.equal(lines[1].stage, 'known-for');
  assert.equal(lines[2].level, 40);
});

test('off a terminal: JSON lines; quiet keeps only warnings', () => {
  const loud = sink();
  const a = createReporter({ tty: false, stream: loud.stream });
  a.info('stage ingest done', { seconds: 0.25 });
  a.warn('careful');
  a.close();
  const msgs = loud
    .text()
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { msg: string }).msg);
  assert.deepEqual(msgs, ['stage ingest done', 'careful']);
  const quiet = sink();
  const b = createReporter({ tty: false, quiet: true, stream: quiet.stream });
  b.info('stage ingest done');
  b.progress('ingest', 10, 10);
  b.warn('careful');
  b.close();
  assert.deepEqual(
    quiet
      .text()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['careful'],
  );
});
