/**
 * The JSON shapes of the engine's answers, shared by the HTTP routes and the CLI. Scores are float32 in the
 * artifacts; printed as doubles they would read 0.30000001192092896, so each is written with the fewest digits
 * that still parse back to the same float32.
 */
import type { AnnParams, AnnStats } from '../ann/simclusters.ts';
import type { SparseRow } from '../store/store.ts';
import type { DenseParams, DenseResult, DenseStats } from './dense-model.ts';
import type { CandidateFilters, CandidateResult, ServingModel } from './serving-model.ts';

/**
 * A decimal with the fewest significant digits (6 to 9) that rounds to the same float32 as v. Arithmetic
 * rather than toPrecision: a candidates answer formats two scores per item and the string round trips cost
 * more than the ANN query's rescoring. N / 10^d is the double nearest that decimal, which JSON prints as the
 * decimal itself; the float32 check keeps whatever the arithmetic rounding does honest.
 */
export function f32(v: number): number {
  if (!Number.isFinite(v) || Number.isInteger(v)) return v;
  const target = Math.fround(v);
  const exponent = Math.floor(Math.log10(Math.abs(v)));
  for (let digits = 6; digits < 10; digits++) {
    const shift = digits - 1 - exponent;
    // Powers of ten up to 10^22 are exact doubles; beyond, fall back to the string route.
    if (shift < 0 || shift > 22) return f32Slow(v, target);
    const scale = POW10[shift];
    const s = Math.round(v * scale) / scale;
    if (Math.fround(s) === target) return s;
  }
  return f32Slow(v, target);
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

function f32Slow(v: number, target: number): number {
  for (let digits = 6; digits < 9; digits++) {
    const s = Number(v.toPrecision(digits));
    if (Math.fround(s) === target) return s;
  }
  return Number(v.toPrecision(9));
}

/** A sparse row as [clusterId, score] pairs. */
export function pairs(row: SparseRow): [number, number][] {
  const out = new Array<[number, number]>(row.ids.length);
  for (let j = 0; j < row.ids.length; j++) out[j] = [row.ids[j], f32(row.values[j])];
  return out;
}

export interface CandidatesJson {
  version: string;
  source: string;
  candidates: { itemId: string; score: number; approxScore: number }[];
  params: AnnParams & {
    excluded: number;
    allowed?: number;
    minAgeHours?: number;
    maxAgeHours?: number;
    now?: number;
  };
  stats: AnnStats;
}

/** The body of a candidates answer (HTTP and `simrec candidates --json` alike). */
export function candidatesJson(
  m: ServingModel,
  r: CandidateResult,
  filters: CandidateFilters,
): CandidatesJson {
  const { items, scores, approxScores, stats } = r.result;
  const candidates = new Array<{ itemId: string; score: number; approxScore: number }>(items.length);
  for (let j = 0; j < items.length; j++)
    candidates[j] = { itemId: m.itemId(items[j]), score: f32(scores[j]), approxScore: f32(approxScores[j]) };
  return {
    version: m.version,
    source: r.sourceEmbedding,
    candidates,
    params: answerParams(r, filters),
    stats,
  };
}

/** The parameters an answer reports: the ANN parameters used, what was excluded, the filters given. */
function answerParams(r: CandidateResult, filters: CandidateFilters): CandidatesJson['params'] {
  const params: CandidatesJson['params'] = { ...r.params, excluded: r.excluded };
  if (r.allowed !== null) params.allowed = r.allowed;
  if (filters.minAgeHours !== undefined) params.minAgeHours = filters.minAgeHours;
  if (filters.maxAgeHours !== undefined) params.maxAgeHours = filters.maxAgeHours;
  // The time an age window was measured from, given or defaulted (the version's data time), so a caller can
  // tell which window was applied.
  if (r.now !== null) params.now = r.now;
  else if (filters.now !== undefined) params.now = filters.now;
  return params;
}

/**
 * The same answer as {@link candidatesJson}, written straight to its JSON text: the hot route sends it as is,
 * skipping an object per candidate and the schema serializer (together a tenth of a request's CPU under
 * load). Item ids come JSON-escaped from a per-version cache.
 */
export function candidatesJsonText(m: ServingModel, r: CandidateResult, filters: CandidateFilters): string {
  const { items, scores, approxScores, stats } = r.result;
  let out = `{"version":${JSON.stringify(m.version)},"source":${JSON.stringify(r.sourceEmbedding)},"candidates":[`;
  for (let j = 0; j < items.length; j++) {
    if (j > 0) out += ',';
    out += `{"itemId":${m.itemIdJson(items[j])},"score":${num(scores[j])},"approxScore":${num(approxScores[j])}}`;
  }
  return `${out}],"params":${JSON.stringify(answerParams(r, filters))},"stats":${JSON.stringify(stats)}}`;
}

/**
 * {@link f32}'s decimal as JSON text (null for NaN and ±Infinity, as JSON.stringify writes them), built from the
 * integer N of N / 10^shift: an integer's digits are cheap to produce, whereas String() of a double runs the
 * shortest-round-trip search on every distinct score (a candidates answer has two per item, all distinct once
 * scores stop tying). The text parses to the double f32 returns: both are the double nearest the same decimal.
 */
export function f32Text(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  if (Number.isInteger(v)) return String(v);
  const target = Math.fround(v);
  const exponent = Math.floor(Math.log10(Math.abs(v)));
  for (let digits = 6; digits < 10; digits++) {
    const shift = digits - 1 - exponent;
    // Whole-number parts beyond N's digits, and tiny values, take the general route.
    if (shift < 1 || shift > 22) break;
    const scale = POW10[shift];
    // The same rounding as f32 (Math.round of the signed value), so both pick the same decimal.
    const n = Math.round(v * scale);
    if (Math.fround(n / scale) === target) return decimalText(Math.abs(n), shift, n < 0);
  }
  return String(f32(v));
}

/** N · 10^−shift in plain decimal notation, trailing zeros dropped. */
function decimalText(n: number, shift: number, negative: boolean): string {
  while (shift > 0 && n % 10 === 0) {
    n /= 10;
    shift--;
  }
  let s = String(n);
  if (shift > 0) {
    if (s.length <= shift) s = '0'.repeat(shift - s.length + 1) + s;
    s = `${s.slice(0, s.length - shift)}.${s.slice(s.length - shift)}`;
  }
  return negative ? `-${s}` : s;
}

const num = f32Text;

export interface DenseCandidatesJson {
  version: string;
  source: string;
  candidates: { itemId: string; score: number }[];
  params: DenseParams & { excluded: number; allowed?: number };
  stats: DenseStats;
}

/** The body of a dense candidates answer (POST /v1/candidates/dense, similar items by MF, the CLI). */
export function denseCandidatesJson(m: ServingModel, r: DenseResult): DenseCandidatesJson {
  const candidates = new Array<{ itemId: string; score: number }>(r.items.length);
  for (let j = 0; j < r.items.length; j++)
    candidates[j] = { itemId: m.itemId(r.items[j]), score: f32(r.scores[j]) };
  const params: DenseCandidatesJson['params'] = { ...r.params, excluded: r.excluded };
  if (r.allowed !== null) params.allowed = r.allowed;
  return { version: m.version, source: r.sourceEmbedding, candidates, params, stats: r.stats };
}
