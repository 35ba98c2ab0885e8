import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EvalReport } from './evaluate.ts';
import { barChartSvg, escapeHtml, lineChartSvg, metricRows, renderHtml, renderTable } from './report.ts';

function report(): EvalReport {
  const metrics = (p: number) => ({
    'precision@5': p,
    'precision@10': p / 2,
    'recall@5': p / 3,
    'recall@10': p / 4,
    auc: 0.9,
    'coverage@5': 0.1,
    'coverage@10': 0.2,
    users: 12,
    train_seconds: 1.5,
  });
  return {
    dataset: 'toy',
    split: 'random',
    protocol: {
      catalogue: 'items with a train or test positive',
      trainPositivesExcluded: true,
      averagedOver: 'users with at least one test positive',
      ties: 'ranked list: by item index; auc: ½',
      ks: [5, 10],
      sampledNegatives: null,
      seed: 1,
      epochs: 2,
      dim: 8,
      threads: 1,
    },
    counts: {
      users: 20,
      evaluatedUsers: 12,
      items: 30,
      trainPositives: 100,
      testPositives: 25,
      coldTestPositives: 2,
      itemFeatures: 0,
    },
    models: { popularity: metrics(0.2), '<b>&"mf"': metrics(0.4) },
  };
}

test('table rows: @k families by k, AUC after the ranking metrics, counts and timings last', () => {
  const r = report();
  assert.deepEqual(metricRows(r), [
    'precision@5',
    'precision@10',
    'recall@5',
    'recall@10',
    'auc',
    'coverage@5',
    'coverage@10',
    'users',
    'train_seconds',
  ]);
  const text = renderTable(r);
  assert.match(text, /dataset: toy {3}split: random/);
  assert.match(text, /users: 12 evaluated of 20 {3}catalogue: 30 items/);
  assert.match(text, /precision@10 +0\.1000 +0\.2000/);
  assert.match(text, /train_seconds +1\.50 +1\.50/);
});

test('the HTML page is self-contained, escapes names and draws one line per model and family', () => {
  const html = renderHtml(report());
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  for (const banned of ['http:', 'https:', '<script', ' src=', '<link'])
    assert.ok(!html.includes(banned), banned);
  assert.ok(!html.includes('<b>&"mf"'));
  assert.ok(html.includes(escapeHtml('<b>&"mf"')));
  // precision, recall, coverage families × 2 models.
  assert.equal(html.match(/<polyline/g)?.length, 6);
  // Bars for auc and train_seconds.
  assert.equal(html.match(/<rect/g)?.length, 4);
  // The better precision@5 is marked best; popularity-style neutral rows and ties are not.
  assert.match(html, /<td>precision@5<\/td><td>0\.2000<\/td><td class="best">0\.4000<\/td>/);
});

test('chart geometry: values map linearly onto a round axis', () => {
  // Axis 0..0.1 in steps of 0.02; plot from y = 220 (0) to y = 28 (0.1); x inset 16 px from both ends.
  const svg = lineChartSvg('t', [1, 2], [{ name: 'a', values: [0, 0.1] }]);
  assert.match(svg, /points="72\.0,220\.0 388\.0,28\.0"/);
  for (const tick of ['0', '0.02', '0.04', '0.06', '0.08', '0.1'])
    assert.ok(svg.includes(`>${tick}</text>`), tick);
  const bars = barChartSvg('b', [
    { name: 'x', value: 2 },
    { name: 'y', value: 1 },
  ]);
  // Axis 0..2: the first bar spans the whole height (192 px), the second half of it.
  assert.match(bars, /height="192\.0"/);
  assert.match(bars, /height="96\.0"/);
});
