// Self-contained HTML report of an evaluation (the JSON of `fl evaluate --json`): per cohort a
// figure panel with inline SVG (A: ROC curves with the chance diagonal, each model's operating
// point at its threshold and a shaded band for its DeLong 95% CI of the AUC; B: calibration
// curves with Wilson CIs per bin; C: decision curves against treat-all and treat-none), a table of
// estimates with 95% CIs, a table of model comparisons with P-values, and subgroup AUCs.
// Undefined figures print a dash with a numbered note that states the reason (also on hover).
// No scripts, no external assets.
//
// The panel's input types are the report.json contract (schema.ts): the HTML report reads exactly
// what report.json and `fl evaluate --json` hold.
import type { CohortStats, ComparisonStats, Difference, Estimate, GroupStats, ModelStats, RocPoint, StatisticsPanel } from './schema.js';

export type HtmlEstimate = Estimate;
export type HtmlRocPoint = RocPoint;
export type HtmlModel = ModelStats;
export type HtmlDifference = Difference;
export type HtmlComparison = ComparisonStats;
export type HtmlGroup = GroupStats;
export type HtmlCohort = CohortStats;
export type HtmlReportInput = StatisticsPanel;

export interface HtmlReportOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly extraSections?: readonly { readonly title: string; readonly html: string }[];
  /** ROC points per cohort and model, overriding the report's own `roc` arrays. */
  readonly rocData?: Readonly<Record<string, Readonly<Record<string, readonly HtmlRocPoint[]>>>>;
}

const PALETTE = ['#1f4e99', '#c0392b', '#27864a', '#8e44ad', '#d68910', '#17808a', '#7f4f24', '#555555'];

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function num(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

export function formatP(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '—';
  if (p < 0.001) return '&lt;0.001';
  return p.toFixed(3);
}

// Reasons for undefined figures, numbered per section and listed under its tables.
let notes: string[] = [];

/** A dash with the number of the note that gives the reason (the same reason keeps its number). */
export function undefinedMark(reason: string | undefined): string {
  const r = reason ?? 'undefined (no reason given)';
  let k = notes.indexOf(r);
  if (k < 0) { notes.push(r); k = notes.length - 1; }
  return `<span class="na" title="${escapeHtml(r)}">—<sup>${k + 1}</sup></span>`;
}

function notesList(): string {
  if (!notes.length) return '';
  const out = `<ol class="reasons">${notes.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ol>`;
  notes = [];
  return `<p class="note"><b>Notes</b> (— = undefined):</p>${out}`;
}

function withCi(e: HtmlEstimate | HtmlDifference | undefined, digits = 3): string {
  if (!e) return '—';
  if (e.estimate === null || e.estimate === undefined) return undefinedMark(e.reason);
  const ci = e.ci ? ` <span class="ci">(${ciText(e.ci, digits)})</span>` : '';
  return `${num(e.estimate, digits)}${ci}`;
}

/** "0.81–0.93", or "-0.04 to 0.07" when a bound is negative (a dash would read as a minus). */
export function ciText(ci: readonly [number, number], digits = 3): string {
  return `${num(ci[0], digits)}${ci[0] < 0 || ci[1] < 0 ? ' to ' : '–'}${num(ci[1], digits)}`;
}

function proportionCell(e: HtmlEstimate): string {
  const x = e.numerator ?? e.x;
  const n = e.denominator ?? e.n;
  const counts = x !== undefined && n !== undefined ? `<br><span class="counts">${x}/${n}</span>` : '';
  return `${withCi(e)}${counts}`;
}

function rocPairs(pts: readonly HtmlRocPoint[] | undefined): [number, number][] {
  if (!pts) return [];
  return pts.map((p) => (Array.isArray(p) ? [p[0], p[1]] : [(p as { fpr: number }).fpr, (p as { tpr: number }).tpr]) as [number, number]);
}

// ---- SVG plotting --------------------------------------------------------------------------

interface Axes {
  readonly x0: number; readonly x1: number; readonly y0: number; readonly y1: number;
  readonly xLabel: string; readonly yLabel: string; readonly letter: string; readonly title: string;
  readonly xTicks: number[]; readonly yTicks: number[];
}

const W = 380;
const H = 350;
const M = { left: 54, right: 14, top: 30, bottom: 46 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

function sx(a: Axes, x: number): number {
  return M.left + ((x - a.x0) / (a.x1 - a.x0)) * PW;
}

function sy(a: Axes, y: number): number {
  return M.top + PH - ((y - a.y0) / (a.y1 - a.y0)) * PH;
}

function path(a: Axes, pts: readonly (readonly [number, number])[]): string {
  return pts.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${sx(a, x).toFixed(2)},${sy(a, y).toFixed(2)}`).join('');
}

function ticks(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  const k0 = Math.ceil(lo / step - 1e-9);
  const k1 = Math.floor(hi / step + 1e-9);
  for (let k = k0; k <= k1; k++) out.push(Number((k * step).toFixed(10)));
  return out;
}

let clipCounter = 0;

function frame(a: Axes, body: string, legend: { color: string; label: string; dash?: string }[]): string {
  const clip = `clip${++clipCounter}`;
  const grid = [
    ...a.xTicks.map((t) => `<line x1="${sx(a, t)}" x2="${sx(a, t)}" y1="${M.top}" y2="${M.top + PH}" class="grid"/>`),
    ...a.yTicks.map((t) => `<line x1="${M.left}" x2="${M.left + PW}" y1="${sy(a, t)}" y2="${sy(a, t)}" class="grid"/>`),
  ].join('');
  const xt = a.xTicks.map((t) => `<line x1="${sx(a, t)}" x2="${sx(a, t)}" y1="${M.top + PH}" y2="${M.top + PH + 4}" class="axis"/><text x="${sx(a, t)}" y="${M.top + PH + 16}" text-anchor="middle">${fmtTick(t)}</text>`).join('');
  const yt = a.yTicks.map((t) => `<line x1="${M.left - 4}" x2="${M.left}" y1="${sy(a, t)}" y2="${sy(a, t)}" class="axis"/><text x="${M.left - 7}" y="${sy(a, t) + 4}" text-anchor="end">${fmtTick(t)}</text>`).join('');
  // Legend below the axes (never over the curves), one entry per line.
  const height = H + legend.length * 15 + 10;
  const lg = legend.map((l, i) => {
    const y = H + 12 + i * 15;
    const x = M.left;
    return `<line x1="${x}" x2="${x + 22}" y1="${y - 4}" y2="${y - 4}" stroke="${l.color}" stroke-width="2"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''}/><text x="${x + 28}" y="${y}" class="legend">${escapeHtml(l.label)}</text>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" class="plot">
<defs><clipPath id="${clip}"><rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}"/></clipPath></defs>
<text x="8" y="18" class="letter">${a.letter}</text><text x="${M.left + PW / 2}" y="18" text-anchor="middle" class="ptitle">${escapeHtml(a.title)}</text>
${grid}<g clip-path="url(#${clip})">${body}</g>
<rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}" class="frame"/>${xt}${yt}
<text x="${M.left + PW / 2}" y="${H - 8}" text-anchor="middle" class="alabel">${escapeHtml(a.xLabel)}</text>
<text transform="translate(14,${M.top + PH / 2}) rotate(-90)" text-anchor="middle" class="alabel">${escapeHtml(a.yLabel)}</text>
${lg}</svg>`;
}

function fmtTick(t: number): string {
  return Math.abs(t) < 1e-12 ? '0' : String(Number(t.toFixed(2)));
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 erf, |error| < 1.5e-7: enough to draw). */
function phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
function phiInv(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  if (p < lo || p > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(p < lo ? p : 1 - p));
    const x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
    return p < lo ? x : -x;
  }
  const q = p - 0.5, r = q * q;
  return (((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Equal-variance binormal ROC curve with the given AUC: TPR = Φ(√2·Φ⁻¹(AUC) + Φ⁻¹(FPR)). */
export function binormalRoc(auc: number, points = 60): [number, number][] {
  const A = Math.min(1 - 1e-9, Math.max(1e-9, auc));
  const shift = Math.SQRT2 * phiInv(A);
  const out: [number, number][] = [[0, 0]];
  for (let k = 1; k < points; k++) {
    const f = (k / points) ** 2; // denser near FPR 0, where the curve bends
    out.push([f, phi(shift + phiInv(f))]);
  }
  out.push([1, 1]);
  return out;
}

function rocPlot(models: [string, HtmlModel, string][], override: Readonly<Record<string, readonly HtmlRocPoint[]>> | undefined): string {
  const a: Axes = { x0: 0, x1: 1, y0: 0, y1: 1, xLabel: '1 − Specificity', yLabel: 'Sensitivity', letter: 'A', title: 'ROC curves', xTicks: ticks(0, 1, 0.2), yTicks: ticks(0, 1, 0.2) };
  let body = `<line x1="${sx(a, 0)}" y1="${sy(a, 0)}" x2="${sx(a, 1)}" y2="${sy(a, 1)}" stroke="#999" stroke-dasharray="4 3" stroke-width="1"/>`;
  const legend: { color: string; label: string; dash?: string }[] = [];
  // CI bands first, so the curves are drawn over them.
  for (const [, m, color] of models) {
    if (!m.auc.ci || m.auc.estimate === null) continue;
    const lo = binormalRoc(m.auc.ci[0]), hi = binormalRoc(m.auc.ci[1]);
    const ring = [...hi, ...lo.reverse()];
    body += `<path d="${path(a, ring)}Z" fill="${color}" fill-opacity="0.12" stroke="none" class="rocband"/>`;
  }
  for (const [name, m, color] of models) {
    const pts = rocPairs(override?.[name] ?? m.roc);
    if (pts.length) body += `<path d="${path(a, pts)}" fill="none" stroke="${color}" stroke-width="1.8"/>`;
    const se = m.sensitivity.estimate, sp = m.specificity.estimate;
    if (se !== null && sp !== null && se !== undefined && sp !== undefined) {
      body += `<circle cx="${sx(a, 1 - sp).toFixed(2)}" cy="${sy(a, se).toFixed(2)}" r="4.5" fill="#fff" stroke="${color}" stroke-width="2" class="operating"><title>${escapeHtml(`${name}: threshold ${num(m.threshold)}, sensitivity ${num(se)}, specificity ${num(sp)}`)}</title></circle>`;
    }
    legend.push({ color, label: `${name}: AUC ${m.auc.estimate === null ? `— (${m.auc.reason ?? 'undefined'})` : `${num(m.auc.estimate)}${m.auc.ci ? ` (95% CI ${ciText(m.auc.ci)})` : ''}`}; ○ at ${num(m.threshold)}` });
  }
  legend.push({ color: '#999', label: 'chance', dash: '4 3' });
  return frame(a, body, legend);
}

function calibrationPlot(models: [string, HtmlModel, string][]): string {
  const bins = [...new Set(models.map(([, m]) => m.calibration?.bins).filter((b): b is number => b !== undefined))];
  const title = bins.length === 1 ? `Calibration (${bins[0]} bins of predicted risk)` : 'Calibration (bins of predicted risk)';
  const a: Axes = { x0: 0, x1: 1, y0: 0, y1: 1, xLabel: 'Predicted probability', yLabel: 'Observed proportion', letter: 'B', title, xTicks: ticks(0, 1, 0.2), yTicks: ticks(0, 1, 0.2) };
  let body = `<line x1="${sx(a, 0)}" y1="${sy(a, 0)}" x2="${sx(a, 1)}" y2="${sy(a, 1)}" stroke="#999" stroke-dasharray="4 3" stroke-width="1"/>`;
  const legend: { color: string; label: string; dash?: string }[] = [];
  models.forEach(([name, m, color], k) => {
    const curve = m.calibration?.curve ?? [];
    const pts = curve.map((b) => [b.mean_predicted, b.observed] as [number, number]);
    if (pts.length) {
      // Wilson 95% CI of the observed proportion per bin (nudged sideways per model so bars do not overlap).
      const dx = (k - (models.length - 1) / 2) * 0.006;
      body += curve.filter((b) => b.ci).map((b) => `<line x1="${sx(a, b.mean_predicted + dx).toFixed(2)}" x2="${sx(a, b.mean_predicted + dx).toFixed(2)}" y1="${sy(a, b.ci![0]).toFixed(2)}" y2="${sy(a, b.ci![1]).toFixed(2)}" stroke="${color}" stroke-width="1" class="calci"/>`).join('');
      body += `<path d="${path(a, pts)}" fill="none" stroke="${color}" stroke-width="1.5"/>`;
      body += curve.map((b) => `<circle cx="${sx(a, b.mean_predicted).toFixed(2)}" cy="${sy(a, b.observed).toFixed(2)}" r="3" fill="${color}"><title>${escapeHtml(`${name}: n ${b.n}, predicted ${num(b.mean_predicted)}, observed ${num(b.observed)}`)}</title></circle>`).join('');
    }
    const c = m.calibration;
    legend.push({ color, label: c && c.slope === null && c.intercept === null && !pts.length ? `${name}: undefined` : `${name}: slope ${num(c?.slope ?? null, 2)}, int. ${num(c?.intercept ?? null, 2)}${c?.note ? ' (clipped)' : ''}` });
  });
  legend.push({ color: '#999', label: 'ideal', dash: '4 3' });
  return frame(a, body, legend);
}

function decisionPlot(models: [string, HtmlModel, string][], prevalence: number | null): string {
  const all = models.flatMap(([, m]) => (m.decision_curve ?? []).map((d) => d.net_benefit));
  const top = Math.max(0.05, prevalence ?? 0, ...all);
  const yMax = Math.ceil((top * 1.1) / 0.05) * 0.05;
  const yMin = -Math.max(0.05, Math.ceil((yMax * 0.25) / 0.05) * 0.05);
  const step = yMax - yMin > 0.6 ? 0.2 : yMax - yMin > 0.3 ? 0.1 : 0.05;
  const a: Axes = { x0: 0, x1: 1, y0: yMin, y1: yMax, xLabel: 'Threshold probability', yLabel: 'Net benefit', letter: 'C', title: 'Decision curves', xTicks: ticks(0, 1, 0.2), yTicks: ticks(yMin, yMax, step) };
  let body = `<line x1="${sx(a, 0)}" y1="${sy(a, 0)}" x2="${sx(a, 1)}" y2="${sy(a, 0)}" stroke="#222" stroke-width="1.2"/>`;
  const first = models.find(([, m]) => (m.decision_curve ?? []).length);
  if (first) {
    body += `<path d="${path(a, first[1].decision_curve!.map((d) => [d.threshold, d.treat_all] as [number, number]))}" fill="none" stroke="#888" stroke-width="1.3" stroke-dasharray="6 3"/>`;
  }
  const legend: { color: string; label: string; dash?: string }[] = [];
  for (const [name, m, color] of models) {
    const dc = m.decision_curve ?? [];
    if (dc.length) body += `<path d="${path(a, dc.map((d) => [d.threshold, d.net_benefit] as [number, number]))}" fill="none" stroke="${color}" stroke-width="1.8"/>`;
    const why = m.decision_curve_reason?.includes('not probabilities') ? ' (scores are not probabilities)' : '';
    legend.push({ color, label: dc.length ? name : `${name}: undefined${why}` });
  }
  legend.push({ color: '#888', label: 'treat all', dash: '6 3' }, { color: '#222', label: 'treat none' });
  return frame(a, body, legend);
}

// ---- tables ---------------------------------------------------------------------------------

function estimatesTable(g: HtmlGroup, caption: string): string {
  const rows = Object.entries(g.models).map(([name, m]) => `<tr><th scope="row">${escapeHtml(name)}</th><td>${m.n ?? g.n}</td>
<td>${withCi(m.auc)}</td><td>${num(m.threshold, 3)}</td><td>${proportionCell(m.sensitivity)}</td><td>${proportionCell(m.specificity)}</td>
<td>${proportionCell(m.ppv)}</td><td>${proportionCell(m.npv)}</td><td>${proportionCell(m.accuracy)}</td>
<td>${naCell(m.calibration?.brier, m.calibration?.reason)}</td><td>${calCell(m.calibration?.intercept, m.calibration?.reason, m.calibration?.note)}</td><td>${calCell(m.calibration?.slope, m.calibration?.reason, m.calibration?.note)}</td>
<td>${m.decision_curve === null || (m.decision_curve_reason && !(m.decision_curve ?? []).length) ? undefinedMark(m.decision_curve_reason) : 'Fig. C'}</td></tr>`).join('\n');
  return `<table><caption>${caption}</caption><thead><tr><th>Model</th><th>n</th><th>AUC (95% CI)</th><th>Threshold</th><th>Sensitivity</th><th>Specificity</th><th>PPV</th><th>NPV</th><th>Accuracy</th><th>Brier</th><th>Cal. intercept</th><th>Cal. slope</th><th>Decision curve</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** A calibration figure; a note (scores of exactly 0 or 1 clipped) is numbered like a reason. */
function calCell(v: number | null | undefined, reason: string | undefined, note: string | undefined): string {
  if (v === null || v === undefined) return undefinedMark(reason);
  if (!note) return num(v);
  return undefinedMark(note).replace('class="na"', 'class="noted"').replace('>—<sup>', `>${num(v)}<sup>`);
}

function naCell(v: number | null | undefined, reason: string | undefined): string {
  return v === null || v === undefined ? undefinedMark(reason) : num(v);
}

function comparisonsTable(cs: readonly HtmlComparison[], caption: string): string {
  if (!cs.length) return '';
  const rows = cs.map((c) => {
    const npv = c.npv_difference ?? c.bootstrap?.npv_difference;
    const spec = c.specificity_difference ?? c.bootstrap?.specificity_difference;
    return `<tr><th scope="row">${escapeHtml(c.a)} vs ${escapeHtml(c.b)}</th><td>${num(c.auc_difference)}</td><td>${num(c.delong.z, 2)}</td><td>${c.delong.p === null ? naCell(null, c.delong.reason) : formatP(c.delong.p)}</td>
<td>${withCi(npv)}</td><td>${npv ? (npv.p === null || npv.p === undefined ? naCell(null, npv.reason ?? 'not computed') : formatP(npv.p)) : '—'}</td>
<td>${withCi(spec)}</td><td>${spec ? (spec.p === null || spec.p === undefined ? naCell(null, spec.reason ?? 'not computed') : formatP(spec.p)) : '—'}</td></tr>`;
  }).join('\n');
  return `<table><caption>${caption}</caption><thead><tr><th>Comparison</th><th>ΔAUC</th><th>Z (DeLong)</th><th>P (DeLong)</th><th>ΔNPV (95% CI)</th><th>P</th><th>ΔSpecificity (95% CI)</th><th>P</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function subgroupTable(subs: Readonly<Record<string, HtmlGroup>>, models: string[], caption: string): string {
  const entries = Object.entries(subs);
  if (!entries.length) return '';
  const head = models.map((m) => `<th>${escapeHtml(m)} AUC (95% CI)</th><th>${escapeHtml(m)} NPV</th>`).join('');
  const rows = entries.map(([g, s]) => `<tr><th scope="row">${escapeHtml(g)}</th><td>${s.n}</td><td>${s.positives}</td>${models.map((m) => {
    const mr = s.models[m];
    return mr ? `<td>${withCi(mr.auc)}</td><td>${withCi(mr.npv)}</td>` : '<td>—</td><td>—</td>';
  }).join('')}</tr>`).join('\n');
  return `<table><caption>${caption}</caption><thead><tr><th>Subgroup</th><th>n</th><th>Positives</th>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

const CSS = `
body{font-family:"Helvetica Neue",Arial,sans-serif;color:#111;margin:24px auto;max-width:1240px;padding:0 16px;line-height:1.35}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 4px;border-bottom:1px solid #333;padding-bottom:3px}
.sub{color:#555;margin:0 0 10px}.meta{color:#444;font-size:13px;margin:2px 0 8px}
.panel{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0}
svg.plot{background:#fff;border:1px solid #ddd}
svg text{font-family:"Helvetica Neue",Arial,sans-serif;font-size:11px;fill:#222}
svg .letter{font-weight:bold;font-size:15px}svg .ptitle{font-size:12px;font-weight:bold}svg .alabel{font-size:12px}
svg .legend{font-size:11px}
svg .grid{stroke:#eee;stroke-width:1}svg .axis{stroke:#333}svg .frame{fill:none;stroke:#333;stroke-width:1}
table{border-collapse:collapse;margin:12px 0;font-size:12.5px;width:100%}
caption{text-align:left;font-weight:bold;padding:4px 0;font-size:13px}
thead th{border-top:2px solid #111;border-bottom:1px solid #111;padding:4px 6px;text-align:left;font-weight:600}
td,tbody th{padding:4px 6px;vertical-align:top;text-align:left;font-weight:normal}
tbody tr:last-child td,tbody tr:last-child th{border-bottom:2px solid #111}
.ci{color:#444}.counts{color:#777;font-size:11px}.na{color:#999}
ol.reasons{font-size:11.5px;color:#555;margin:2px 0 8px;padding-left:22px}
.note{font-size:11.5px;color:#555}`;

/**
 * One cohort's figures and tables (ROC, calibration and decision curves; estimates; paired
 * comparisons; subgroups; the reasons of undefined values), numbered after `at` (figure and table
 * counters; `prefix` labels them, e.g. "Level 2, "). Returns the HTML without a heading.
 */
export function cohortSection(cohort: string, c: HtmlCohort, at: { figure: number; table: number; prefix?: string; rocData?: Readonly<Record<string, readonly HtmlRocPoint[]>> | undefined }): { html: string; figure: number; table: number } {
  let { figure, table } = at;
  const pre = at.prefix ?? '';
  const names = Object.keys(c.models);
  const models = names.map((n, i) => [n, c.models[n]!, PALETTE[i % PALETTE.length]!] as [string, HtmlModel, string]);
  const prevalence = c.n > 0 ? c.positives / c.n : null;
  figure++;
  const hasBoot = (c.comparisons ?? []).some((x) => (x.npv_difference ?? x.bootstrap?.npv_difference)?.estimate !== undefined);
  const html = `<p class="meta">n = ${c.n}; positives = ${c.positives}${prevalence === null ? '' : ` (prevalence ${(prevalence * 100).toFixed(1)}%)`}</p>
<div class="panel">${rocPlot(models, at.rocData)}${calibrationPlot(models)}${decisionPlot(models, prevalence)}</div>
<p class="note"><b>${escapeHtml(pre)}Figure ${figure}.</b> ${escapeHtml(cohort)}: (A) ROC curves, dashed line = chance, ○ = operating point at the model's threshold, shaded = equal-variance binormal ROC curves whose AUCs are the DeLong 95% CI limits; (B) calibration: observed proportion by bins of predicted risk with Wilson 95% CIs, dashed line = ideal; (C) decision curves: net benefit of each model against treating all and treating none.</p>
${estimatesTable(c, `${escapeHtml(pre)}Table ${++table}. ${escapeHtml(cohort)}: estimates with 95% confidence intervals (AUC: DeLong; proportions at the threshold, positive when score ≥ threshold).`)}
${comparisonsTable(c.comparisons ?? [], `${escapeHtml(pre)}Table ${++table}. ${escapeHtml(cohort)}: paired comparisons (AUC: DeLong test${hasBoot ? '; NPV and specificity: paired stratified bootstrap' : ''}).`)}
${c.subgroups && Object.keys(c.subgroups).length ? subgroupTable(c.subgroups, names, `${escapeHtml(pre)}Table ${++table}. ${escapeHtml(cohort)}: subgroups.`) : ''}
${notesList()}
`;
  return { html, figure, table };
}

export function renderHtmlReport(report: HtmlReportInput, opts: HtmlReportOptions): string {
  notes = [];
  const sections: string[] = [];
  let figure = 0;
  let table = 0;
  for (const [cohort, c] of Object.entries(report.cohorts)) {
    const r = cohortSection(cohort, c, { figure, table, rocData: opts.rocData?.[cohort] });
    figure = r.figure;
    table = r.table;
    sections.push(`<section><h2>${escapeHtml(cohort)}</h2>\n${r.html}</section>`);
  }
  notes = [];
  for (const s of opts.extraSections ?? []) sections.push(`<section><h2>${escapeHtml(s.title)}</h2>${s.html}</section>`);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(opts.title)}</title><style>${CSS}</style></head>
<body><h1>${escapeHtml(opts.title)}</h1>${opts.subtitle ? `<p class="sub">${escapeHtml(opts.subtitle)}</p>` : ''}
${sections.join('\n')}
<p class="note">— <sup>k</sup>: undefined, for the reason numbered k under the section's tables. P-values are two-sided.</p>
</body></html>
`;
}
