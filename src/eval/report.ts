/**
 * An evaluation report as a terminal table and as a self-contained HTML page: the same table, then one chart
 * per metric family (metric@k against k, one line per model) and bar charts for AUC and training time. The page
 * is plain HTML with inline SVG and CSS: no script, no external resource, so it can be mailed or archived as is.
 */
import type { EvalReport, ModelMetrics } from './evaluate.ts';

/** Metric families measured at each k, in display order. */
const AT_K_FAMILIES = [
  'precision',
  'recall',
  'ndcg',
  'map',
  'hit_rate',
  'coverage',
  'popularity',
  'sampled_hit_rate',
  'sampled_ndcg',
] as const;

/** Table order: an @k family expands to one row per k; any other entry is a scalar metric. */
const ROW_ORDER: readonly string[] = [
  'precision',
  'recall',
  'ndcg',
  'map',
  'hit_rate',
  'auc',
  'coverage',
  'popularity',
  'sampled_hit_rate',
  'sampled_ndcg',
  'sampled_auc',
  'sampled_mrr',
  'users',
  'invalid_scores',
  'train_seconds',
  'eval_seconds',
];

/** Metrics where a higher value is not "better" and no best is marked. */
const NEUTRAL = new Set(['popularity', 'users', 'invalid_scores']);

/** The metric names present in the report, in display order. */
export function metricRows(report: EvalReport): string[] {
  const present = new Set<string>();
  for (const m of Object.values(report.models)) for (const key of Object.keys(m)) present.add(key);
  const rows: string[] = [];
  for (const entry of ROW_ORDER) {
    if (present.has(entry)) rows.push(entry);
    for (const k of report.protocol.ks) if (present.has(`${entry}@${k}`)) rows.push(`${entry}@${k}`);
  }
  for (const key of present) if (!rows.includes(key)) rows.push(key);
  return rows;
}

function formatValue(metric: string, v: number | null | undefined): string {
  // A report read back from JSON has null where the metric was not defined (NaN).
  if (v === undefined || v === null || Number.isNaN(v)) return '-';
  if (metric === 'users' || metric === 'invalid_scores') return String(Math.round(v));
  if (metric.endsWith('_seconds')) return v.toFixed(2);
  return v.toFixed(4);
}

/** The report's header lines: what was evaluated, on what. */
export function describeReport(report: EvalReport): string[] {
  const c = report.counts;
  const p = report.protocol;
  return [
    `dataset: ${report.dataset}   split: ${report.split}`,
    `users: ${c.evaluatedUsers} evaluated of ${c.users}   catalogue: ${c.items} items   train: ${c.trainPositives} positives   test: ${c.testPositives} positives (${c.coldTestPositives} on items unseen in train)${c.itemFeatures > 0 ? `   item features: ${c.itemFeatures}` : ''}`,
    `protocol: full catalogue, train positives excluded, ties by item index (AUC: ½)${p.sampledNegatives !== null ? `; sampled: 1 positive vs ${p.sampledNegatives} negatives` : ''}   seed ${p.seed}, epochs ${p.epochs}, dim ${p.dim}, threads ${p.threads}`,
  ];
}

/** The terminal table: one row per metric, one column per model. */
export function renderTable(report: EvalReport): string {
  const models = Object.keys(report.models);
  const rows = metricRows(report);
  const first = Math.max(6, ...rows.map((r) => r.length));
  const widths = models.map((m) => Math.max(10, m.length));
  const lines = [...describeReport(report), ''];
  lines.push(['metric'.padEnd(first), ...models.map((m, j) => m.padStart(widths[j]))].join('  '));
  for (const r of rows) {
    const cells = models.map((m, j) => formatValue(r, report.models[m][r]).padStart(widths[j]));
    lines.push([r.padEnd(first), ...cells].join('  '));
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// HTML.

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A round axis step giving about `ticks` intervals up to max. */
function niceStep(max: number, ticks: number): number {
  if (!(max > 0)) return 1;
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** A tick label without float noise (0.30000000000000004 → 0.3). */
function fmtTick(v: number): string {
  return String(Number(v.toFixed(10)));
}

const W = 420;
const H = 260;
const M = { left: 56, right: 16, top: 28, bottom: 40 };

/** The y axis shared by both chart kinds: returns the SVG for grid and labels and the value → y mapping. */
function yAxis(max: number): { svg: string; y: (v: number) => number; top: number } {
  const step = niceStep(max, 5);
  const top = Math.max(step, Math.ceil(max / step - 1e-9) * step);
  const plotH = H - M.top - M.bottom;
  const y = (v: number) => M.top + plotH * (1 - v / top);
  let svg = '';
  for (let t = 0; t <= top + step / 2; t += step) {
    const yy = y(t).toFixed(1);
    svg += `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${yy}" y2="${yy}"/>`;
    svg += `<text class="tick" x="${M.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${fmtTick(t)}</text>`;
  }
  return { svg, y, top };
}

/** metric@k against k for every model: x positions are evenly spaced, labelled with the k values. */
export function lineChartSvg(
  title: string,
  ks: readonly number[],
  series: { name: string; values: number[] }[],
): string {
  const finite = series.flatMap((s) => s.values.filter((v) => Number.isFinite(v)));
  const { svg: axis, y } = yAxis(Math.max(0, ...finite));
  const plotW = W - M.left - M.right;
  // Inset, so the first and last points do not sit on the axes.
  const inset = 16;
  const x = (q: number) =>
    M.left + (ks.length === 1 ? plotW / 2 : inset + ((plotW - 2 * inset) * q) / (ks.length - 1));
  let body = axis;
  ks.forEach((k, q) => {
    body += `<text class="tick" x="${x(q).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${k}</text>`;
  });
  body += `<text class="label" x="${M.left + plotW / 2}" y="${H - 6}" text-anchor="middle">k</text>`;
  series.forEach((s, j) => {
    const color = PALETTE[j % PALETTE.length];
    const pts = s.values
      .map((v, q) => (Number.isFinite(v) ? `${x(q).toFixed(1)},${y(v).toFixed(1)}` : null))
      .filter((p): p is string => p !== null);
    body += `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"><title>${escapeHtml(s.name)}</title></polyline>`;
    for (const p of pts) {
      const [px, py] = p.split(',');
      body += `<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`;
    }
  });
  return svgFrame(title, body);
}

/** One bar per model. */
export function barChartSvg(title: string, series: { name: string; value: number }[]): string {
  const finite = series.map((s) => s.value).filter((v) => Number.isFinite(v));
  const { svg: axis, y } = yAxis(Math.max(0, ...finite));
  const plotW = W - M.left - M.right;
  const slot = plotW / Math.max(1, series.length);
  const barW = Math.min(48, slot * 0.6);
  let body = axis;
  series.forEach((s, j) => {
    const cx = M.left + slot * (j + 0.5);
    const v = Number.isFinite(s.value) ? s.value : 0;
    const top = y(v);
    body += `<rect x="${(cx - barW / 2).toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(0) - top).toFixed(1)}" fill="${PALETTE[j % PALETTE.length]}"><title>${escapeHtml(s.name)}: ${s.value}</title></rect>`;
    body += `<text class="tick" x="${cx.toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${escapeHtml(s.name)}</text>`;
  });
  return svgFrame(title, body);
}

function svgFrame(title: string, body: string): string {
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}"><text class="title" x="${W / 2}" y="16" text-anchor="middle">${escapeHtml(title)}</text><line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}"/><line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}"/>${body}</svg>`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}
table{border-collapse:collapse;margin:12px 0}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}td.best{font-weight:bold}.charts{display:flex;flex-wrap:wrap;gap:12px}
.legend span{display:inline-block;margin-right:16px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
svg .grid{stroke:#eee}svg .axis{stroke:#888}svg .tick{font-size:10px;fill:#555}svg .label{font-size:11px;fill:#333}
svg .title{font-size:12px;font-weight:600;fill:#222}p.meta{color:#555;margin:2px 0}`;

/** The whole page. */
export function renderHtml(report: EvalReport): string {
  const models = Object.keys(report.models);
  const rows = metricRows(report);
  const table = [
    '<table><thead><tr><th>metric</th>',
    ...models.map((m) => `<th>${escapeHtml(m)}</th>`),
    '</tr></thead><tbody>',
  ];
  for (const r of rows) {
    const values = models.map((m) => report.models[m][r]);
    const fam = r.split('@')[0];
    const lowerBetter = r.endsWith('_seconds');
    const finite = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const best =
      NEUTRAL.has(fam) || finite.length < 2 ? null : lowerBetter ? Math.min(...finite) : Math.max(...finite);
    table.push(`<tr><td>${escapeHtml(r)}</td>`);
    for (const v of values) table.push(`<td${v === best ? ' class="best"' : ''}>${formatValue(r, v)}</td>`);
    table.push('</tr>');
  }
  table.push('</tbody></table>');

  const charts: string[] = [];
  const ks = report.protocol.ks;
  const value = (m: ModelMetrics, key: string) => (typeof m[key] === 'number' ? m[key] : Number.NaN);
  for (const fam of AT_K_FAMILIES) {
    if (!models.some((m) => report.models[m][`${fam}@${ks[0]}`] !== undefined)) continue;
    charts.push(
      lineChartSvg(
        `${fam}@k`,
        ks,
        models.map((m) => ({ name: m, values: ks.map((k) => value(report.models[m], `${fam}@${k}`)) })),
      ),
    );
  }
  for (const s of ['auc', 'sampled_auc', 'train_seconds']) {
    if (!models.some((m) => report.models[m][s] !== undefined)) continue;
    charts.push(
      barChartSvg(
        s,
        models.map((m) => ({ name: m, value: value(report.models[m], s) })),
      ),
    );
  }
  const legend = models
    .map((m, j) => `<span><i style="background:${PALETTE[j % PALETTE.length]}"></i>${escapeHtml(m)}</span>`)
    .join('');
  const meta = describeReport(report)
    .map((l) => `<p class="meta">${escapeHtml(l)}</p>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>simrec eval: ${escapeHtml(report.dataset)} (${escapeHtml(report.split)})</title>
<style>${CSS}</style></head><body>
<h1>simrec eval: ${escapeHtml(report.dataset)} (${escapeHtml(report.split)})</h1>
${meta}
${table.join('')}
<div class="legend">${legend}</div>
<div class="charts">${charts.join('\n')}</div>
</body></html>
`;
}
