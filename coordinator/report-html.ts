// report.html for a federated study: the statistics panel of `fl evaluate --html` (shared/report)
// plus study sections: frozen models and thresholds, learning curves per round, the cross-site
// table, and where the audit trail is.
import { renderHtmlReport, escapeHtml, cohortSection, formatP } from '../shared/report/html.js';
import type { StudyReport } from './report.js';
import type { LevelReport, Table1Pooled, Table1Report } from '../shared/report/schema.js';

const COLORS = ['#1f4e99', '#c0392b', '#27864a', '#8e44ad', '#d68910'];

function learningCurves(report: StudyReport, metric: string, label: string): string {
  const rounds = report.rounds.filter((r) => r.state !== 'failed');
  const models = Object.keys(report.final_models);
  const series = models.map((m) => rounds.map((r) => [r.round, r.models[m]?.metrics[metric]] as const).filter((p): p is readonly [number, number] => Number.isFinite(p[1])));
  const all = series.flat().map((p) => p[1]);
  if (all.length === 0) return `<p>No ${escapeHtml(label)} was reported.</p>`;
  const W = 420, H = 240, L = 48, B = 32, T = 12, R = 12;
  const maxR = Math.max(1, ...rounds.map((r) => r.round));
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi - lo < 1e-9) { lo -= 0.05; hi += 0.05; }
  const x = (r: number) => L + ((r - 1) / Math.max(1, maxR - 1)) * (W - L - R);
  const y = (v: number) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const ticks = [lo, (lo + hi) / 2, hi];
  const lines = series.map((pts, i) => {
    const c = COLORS[i % COLORS.length]!;
    return `<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map(([r, v]) => `${x(r).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>` +
      pts.map(([r, v]) => `<circle cx="${x(r).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${c}"><title>${escapeHtml(models[i]!)} round ${r}: ${v.toFixed(4)}</title></circle>`).join('');
  }).join('');
  const legend = models.map((m, i) => `<tspan fill="${COLORS[i % COLORS.length]}" dx="10">■ ${escapeHtml(m)}</tspan>`).join('');
  return `<svg viewBox="0 0 ${W} ${H + 18}" width="${W}" height="${H + 18}" role="img" aria-label="${escapeHtml(label)} per round">
<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>
${ticks.map((v) => `<text x="${L - 4}" y="${y(v) + 4}" font-size="10" text-anchor="end">${v.toFixed(3)}</text>`).join('')}
${rounds.map((r) => `<text x="${x(r.round)}" y="${H - B + 14}" font-size="10" text-anchor="middle">${r.round}</text>`).join('')}
<text x="${(L + W - R) / 2}" y="${H - 4}" font-size="11" text-anchor="middle">round (${escapeHtml(label)})</text>
${lines}
<text x="${L}" y="${H + 14}" font-size="11">${legend}</text>
</svg>`;
}

interface FittedView {
  family: string; n: number; events: number; lambda: number | null; lambda_rule: string | null; iterations: number; converged: boolean;
  terms: { term: string; estimate: number | null; std_error: number | null; z: number | null; p: number | null; ci: [number, number] | null }[];
  selected: { input: string[]; icc: string[]; pearson: string[]; model: string[] };
  standardization: Record<string, { mean: number; sd: number }>;
  round_trips?: number; fit_ms?: number; digest?: string; separation?: { detected: boolean; message?: string }; aliased?: string[];
  dropped_missing?: Record<string, number>;
}

const num = (v: number | null | undefined, d = 4): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(d) : v.toExponential(2));

/**
 * Tabular models: the selection funnel, the coefficient table (original scale) and, for linear
 * models, a nomogram-style points table: each term's points per unit, scaled so the term with the
 * largest effect over mean ± 2 sd of its input spans 100 points.
 */
export function fittedSection(fitted: Record<string, FittedView>): string {
  return Object.entries(fitted).map(([name, f]) => {
    const s = f.selected;
    const funnel = `<p>Selection: <b>${s.input.length}</b> features in → <b>${s.icc.length}</b> after ICC → <b>${s.pearson.length}</b> after correlation → <b>${s.model.length}</b> ${f.family === 'lasso_logistic' ? 'after LASSO' : 'in the model'}.` +
      ` n = ${f.n} (${f.events} events)${f.lambda !== null ? `; λ = ${f.lambda.toPrecision(4)} (${escapeHtml(f.lambda_rule ?? '')})` : ''}; ${f.iterations} iterations, ${f.converged ? 'converged' : '<b>not converged</b>'}` +
      `${f.round_trips !== undefined ? `; ${f.round_trips} round trips, ${f.fit_ms} ms` : ''}${f.digest ? `; digest <code>${f.digest.slice(0, 16)}…</code>` : ''}.</p>` +
      (f.separation?.detected ? `<p><b>Separation:</b> ${escapeHtml(f.separation.message ?? '')}</p>` : '') +
      (f.aliased?.length ? `<p>Aliased (collinear, not estimated): ${f.aliased.map(escapeHtml).join(', ')}</p>` : '') +
      `<details><summary>features after each filter</summary><p>ICC: ${s.icc.map(escapeHtml).join(', ') || '—'}</p><p>correlation: ${s.pearson.map(escapeHtml).join(', ') || '—'}</p><p>model: ${s.model.map(escapeHtml).join(', ') || '—'}</p></details>`;
    if (f.terms.length === 0) return `<h3>${escapeHtml(name)} (${escapeHtml(f.family)})</h3>${funnel}`;
    const coef = `<table><thead><tr><th>term</th><th>estimate</th><th>std. error</th><th>z</th><th>P</th><th>95% CI</th><th>odds ratio</th></tr></thead><tbody>${
      f.terms.map((t) => `<tr><td>${escapeHtml(t.term)}</td><td>${num(t.estimate)}</td><td>${num(t.std_error)}</td><td>${num(t.z, 3)}</td><td>${t.p === null ? '—' : t.p < 0.001 ? '&lt;0.001' : t.p.toFixed(3)}</td><td>${t.ci ? `${num(t.ci[0])} to ${num(t.ci[1])}` : '—'}</td><td>${t.term === '(Intercept)' || t.estimate === null ? '—' : num(Math.exp(t.estimate), 3)}</td></tr>`).join('')
    }</tbody></table>`;
    const effects = f.terms.filter((t) => t.term !== '(Intercept)' && t.estimate !== null && t.estimate !== 0 && f.standardization[t.term])
      .map((t) => ({ t, span: Math.abs(t.estimate!) * 4 * f.standardization[t.term]!.sd }));
    const max = Math.max(0, ...effects.map((e) => e.span));
    const points = max > 0 ? `<table><thead><tr><th>term</th><th>points per unit</th><th>points over mean ± 2 sd</th><th>direction</th></tr></thead><tbody>${
      effects.map((e) => `<tr><td>${escapeHtml(e.t.term)}</td><td>${num((100 * Math.abs(e.t.estimate!)) / max, 3)}</td><td>${((100 * e.span) / max).toFixed(1)}</td><td>${e.t.estimate! > 0 ? 'higher value, higher risk' : 'higher value, lower risk'}</td></tr>`).join('')
    }</tbody></table><p>Nomogram-style points: add each term's points (per unit of its input, from the lowest value); the total maps to the linear predictor by total × ${num(max / 100, 4)} + constant.</p>` : '';
    return `<h3>${escapeHtml(name)} (${escapeHtml(f.family)})</h3>${funnel}${coef}${points}`;
  }).join('');
}

type Table1Rows = Table1Pooled['rows'];
const isPooled = (t: Table1Report): t is Table1Pooled => Array.isArray((t as { rows?: unknown }).rows);

function table1Rows(cohorts: readonly string[], n: Readonly<Record<string, number | null>>, rows: Table1Rows, tests?: Table1Pooled['tests']): string {
  const fmtP = (p: number | null) => (p === null ? '—' : p < 0.001 ? '&lt;0.001' : p.toFixed(3));
  let last = '';
  const body = rows.map((r) => {
    const first = r.variable !== last;
    last = r.variable;
    const t = tests?.[r.variable];
    const pCell = tests ? `<td>${first && t ? `${fmtP(t.p)}${t.p === null && t.reason ? ` <small>(${escapeHtml(t.reason)})</small>` : ''}<br><small>${escapeHtml(t.test)}</small>` : ''}</td>` : '';
    const cells = cohorts.map((c) => {
      const cell = r.cells[c];
      if (!cell) return '<td>—</td>';
      return `<td>${cell.text === null ? `— <small>(${escapeHtml(cell.reason ?? 'undefined')})</small>` : escapeHtml(cell.text)}</td>`;
    }).join('');
    return `<tr><td>${first ? `<b>${escapeHtml(r.variable)}</b> ` : ''}${escapeHtml(r.statistic)}</td>${cells}${pCell}</tr>`;
  }).join('');
  const head = cohorts.map((c) => `<th>${escapeHtml(c)} (n = ${n[c] === null || n[c] === undefined ? 'suppressed' : n[c]})</th>`).join('');
  return `<table><thead><tr><th>variable</th>${head}${tests ? '<th>P across cohorts</th>' : ''}</tr></thead><tbody>${body}</tbody></table>`;
}

/** Table 1: baseline characteristics per cohort (with P across cohorts), then per site; notes; sites that did not answer. */
export function table1Section(t: Table1Report): string {
  const missing = Object.entries(t.sites_missing);
  const missingText = missing.length ? `<p>No aggregates from: ${missing.map(([s, r]) => `${escapeHtml(s)} (${escapeHtml(r)})`).join('; ')}.</p>` : '';
  if (!isPooled(t)) return `<p>No Table 1: ${escapeHtml(String(t.reason))}.</p>${missingText}`;
  const sites = Object.entries(t.by_site).map(([site, s]) => `<h3>${escapeHtml(site)}</h3>${table1Rows(Object.keys(s.n), s.n, s.rows)}`).join('');
  return `<p>From aggregates the sites returned (${t.sites_answered.map(escapeHtml).join(', ')}); n (%) of non-missing values for categorical variables.</p>` +
    table1Rows(t.cohorts, t.n, t.rows, t.tests) + missingText +
    `<ul>${t.notes.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>` +
    (sites ? `<details><summary>Table 1 per site</summary>${sites}</details>` : '');
}

/**
 * One level of a hierarchical endpoint: its endpoint, models and thresholds, n and positives of the
 * level's population per held-out cohort with the headline AUCs, then per cohort the full figures
 * and tables (comparisons between every pair of the level's models, subgroups) and the interaction tests.
 */
export function levelSection(l: LevelReport): string {
  const cohorts = Object.entries(l.cohorts);
  const auc = (e: { estimate: number | null; ci?: readonly [number, number] | null | undefined } | undefined) => (e && e.estimate !== null ? `${e.estimate.toFixed(3)}${e.ci ? ` (${e.ci[0].toFixed(3)}–${e.ci[1].toFixed(3)})` : ''}` : '—');
  const head = `<p><b>Outcome:</b> ${escapeHtml(l.endpoint.outcome)}; <b>population:</b> ${escapeHtml(l.endpoint.population)}.</p>` +
    `<p><b>Models:</b> ${l.models.map((m) => `${escapeHtml(m)} (threshold ${l.thresholds[m] === undefined ? '—' : l.thresholds[m]!.toFixed(4)})`).join(', ') || '—'}.</p>`;
  if (cohorts.length === 0) return `${head}<p>No held-out case of this level was scored.</p>`;
  const headline = `<table><caption>Level ${l.level} (${escapeHtml(l.name)}): the level's population and AUC (95% CI, DeLong) per held-out cohort</caption><thead><tr><th>cohort</th><th>n</th><th>positives</th>${l.models.map((m) => `<th>${escapeHtml(m)}</th>`).join('')}</tr></thead><tbody>${
    cohorts.map(([c, g]) => `<tr><td>${escapeHtml(c)}</td><td>${g.n}</td><td>${g.positives}</td>${l.models.map((m) => `<td>${auc(g.models[m]?.auc)}</td>`).join('')}</tr>`).join('')
  }</tbody></table>`;
  let at = { figure: 0, table: 1 };
  const parts = cohorts.map(([c, g]) => {
    const r = cohortSection(c, g, { ...at, prefix: `Level ${l.level}, ` });
    at = { figure: r.figure, table: r.table };
    return `<h3>Level ${l.level} (${escapeHtml(l.name)}): ${escapeHtml(c)}</h3>${r.html}`;
  }).join('');
  const sa = Object.entries(l.subgroup_analyses ?? {});
  const interaction = sa.length ? `<h3>Level ${l.level} (${escapeHtml(l.name)}): subgroup interaction tests (AUC in the subgroup vs its complement, DeLong on independent samples)</h3><table><thead><tr><th>subgroup</th><th>cohort</th><th>model</th><th>ΔAUC (95% CI)</th><th>P</th></tr></thead><tbody>${
    sa.flatMap(([name, a]) => Object.entries(a.interaction).flatMap(([c, byModel]) => Object.entries(byModel).map(([m, t]) =>
      `<tr><td>${escapeHtml(name)} <small>(${escapeHtml(a.definition)})</small></td><td>${escapeHtml(c)}</td><td>${escapeHtml(m)}</td><td>${t.difference === null ? `— <small>(${escapeHtml(t.reason ?? 'undefined')})</small>` : `${t.difference.toFixed(3)}${t.ci ? ` (${t.ci[0].toFixed(3)} to ${t.ci[1].toFixed(3)})` : ''}`}</td><td>${t.p === null ? `— <small>(${escapeHtml(t.reason ?? 'undefined')})</small>` : formatP(t.p)}</td></tr>`))).join('')
  }</tbody></table>` : '';
  return head + headline + parts + interaction;
}

export function renderStudyHtml(report: StudyReport): string {
  const frozen = report.frozen_models ?? [];
  const frozenTable = `<table><thead><tr><th>model</th><th>round</th><th>digest (SHA-256)</th><th>threshold</th><th>rule (pooled validation)</th><th>validation n (positives)</th><th>below threshold</th></tr></thead><tbody>${
    frozen.map((f) => `<tr><td>${escapeHtml(f.model)}</td><td>${f.version}</td><td><code>${f.digest}</code></td><td>${f.threshold.toFixed(4)}</td><td>${escapeHtml(f.thresholdRule)}</td><td>${f.validation.n} (${f.validation.positives})</td><td>${f.validation.fraction_below_threshold === null ? '—' : (100 * f.validation.fraction_below_threshold).toFixed(1) + '%'}</td></tr>`).join('')
  }</tbody></table>`;
  const cross = report.cross_site_auc ?? {};
  const models = Object.keys(report.final_models);
  const crossTable = `<table><thead><tr><th>site (held-out cases)</th>${models.map((m) => `<th>${escapeHtml(m)} AUC (95% CI)</th>`).join('')}</tr></thead><tbody>${
    Object.entries(cross).map(([site, row]) => `<tr><td>${escapeHtml(site)}</td>${models.map((m) => {
      const a = row[m];
      return `<td>${a && a.estimate !== null ? `${a.estimate.toFixed(3)}${a.ci ? ` (${a.ci[0].toFixed(3)}–${a.ci[1].toFixed(3)})` : ''}` : '—'}</td>`;
    }).join('')}</tr>`).join('')
  }</tbody></table>`;
  const rounds = report.rounds.map((r) => `<tr><td>${r.round}</td><td>${escapeHtml(r.state.replaceAll('_', ' '))}</td><td>${r.participants.length - Object.keys(r.dropped).length}/${r.participants.length}</td><td>${r.duration_s.toFixed(1)} s</td>${r.privacy ? `<td>ε = ${r.privacy.epsilon.toFixed(3)}</td>` : ''}</tr>`).join('');
  // A hierarchical endpoint: the level sections replace the pooled cohorts (whose rows mix the
  // levels' populations; report.json keeps them).
  const levels = report.levels ?? [];
  return renderHtmlReport({ cohorts: levels.length ? {} : report.cohorts ?? {} }, {
    title: report.study.title ?? `Study ${report.study.id}`,
    subtitle: `Federated study ${report.study.id}: ${report.sites.length} sites, ${report.rounds.length} rounds, strategy ${report.strategy}; held-out cohorts scored only by frozen models. Generated ${report.ended_at}.`,
    extraSections: [
      // A hierarchical endpoint: one section (heading) per level, on the level's own population.
      ...levels.map((l) => ({ title: `Level ${l.level}: ${l.title} (${l.name})`, html: levelSection(l) })),
      { title: 'Frozen models and operating thresholds', html: frozenTable },
      { title: 'Learning curves (federated validation, example-weighted over sites)', html: `<div style="display:flex;gap:24px;flex-wrap:wrap">${learningCurves(report, 'val_auc', 'validation AUC')}${learningCurves(report, 'train_loss', 'training loss')}</div>` },
      ...(report.table1 ? [{ title: 'Table 1: baseline characteristics per cohort and site', html: table1Section(report.table1) }] : []),
      ...(report.fitted && Object.keys(report.fitted as object).length > 0 ? [{ title: 'Tabular models fitted from sums', html: fittedSection(report.fitted as Record<string, FittedView>) }] : []),
      { title: 'Cross-site table: each global model on each site\'s held-out data', html: crossTable },
      { title: 'Rounds', html: `<table><thead><tr><th>round</th><th>state</th><th>sites</th><th>duration</th></tr></thead><tbody>${rounds}</tbody></table>` },
      { title: 'Audit', html: `<p>Study configuration digest <code>${report.study.config_digest}</code>. Every round, accepted and rejected update, the freeze and every evaluation are in the tamper-evident study log (<code>audit/</code>); check it with <code>fl audit verify DIR/audit</code> and recompute the aggregates with <code>fl audit replay</code>.</p>` },
    ],
  });
}
