// The site side: pure functions from the site's table and one request to the sums it may send.
// Disclosure control as DataSHIELD does it: no sums over fewer than `minCell` cases, no outcome
// class with 1..minCell-1 cases, and no information matrix from fewer rows than parameters. A refusal
// is a reply (not an exception), so the coordinator can say which site refused what.
import { design, subsetRows, type Design, type SiteDataset } from './dataset.js';
import type {
  DevianceRequest, GlmRequest, GlmSums, HistogramRequest, HistogramSums, IccRequest, MomentsRequest, RefusalCode,
  SiteReply, SiteRequest, SketchRequest, Subset, Tree, TreeNode,
} from './protocol.js';

export const DEFAULT_MIN_CELL = 5;

export interface SiteOptions {
  /** Smallest number of cases (and of cases per outcome class, unless 0) a sum may come from. Default 5. */
  minCell?: number;
}

class Refusal {
  constructor(readonly code: RefusalCode, readonly message: string) {}
}

function describe(s: Subset): string {
  return s.kind === 'all' ? 'its complete cases' : `the ${s.part} part of CV fold ${s.fold + 1}/${s.folds}`;
}

function checkCells(site: string, d: Design, rows: number[], s: Subset, minCell: number, checkClasses: boolean): void {
  const n = rows.length;
  if (n === 0 && s.kind === 'all') throw new Refusal('no_rows', `site ${site}: no complete cases for the requested columns (${d.dropped} rows dropped for missing values)`);
  if (n < minCell) {
    throw new Refusal('min_cell', `site ${site}: ${describe(s)} number ${n}, fewer than min_cell = ${minCell}; the site does not send sums over so few cases${s.kind === 'fold' ? ' (use fewer folds)' : ' (exclude the site or pool it with another)'}`);
  }
  if (!checkClasses) return;
  let events = 0;
  for (const i of rows) events += d.y[i]!;
  for (const [count, what] of [[events, 'events (outcome 1)'], [n - events, 'non-events (outcome 0)']] as const) {
    if (count > 0 && count < minCell) {
      throw new Refusal('min_cell', `site ${site}: ${describe(s)} contain ${count} ${what}, fewer than min_cell = ${minCell}; the site does not send sums that would reveal so small a group`);
    }
  }
}

function checkHessian(site: string, rows: number, params: number, s: Subset): void {
  if (rows < params) {
    throw new Refusal('hessian_rows', `site ${site}: ${describe(s)} number ${rows} rows, fewer than the ${params} parameters of the model; an information matrix from so few rows would reveal them (use fewer terms or exclude the site)`);
  }
}

/** log(1 + exp(x)) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Binomial deviance contribution of one row with linear predictor eta. */
export function rowDeviance(y: number, eta: number): number {
  return 2 * (y === 1 ? softplus(-eta) : softplus(eta));
}

export function expit(eta: number): number {
  return eta >= 0 ? 1 / (1 + Math.exp(-eta)) : Math.exp(eta) / (1 + Math.exp(eta));
}

function moments(ds: SiteDataset, req: MomentsRequest, minCell: number) {
  const d = design(ds, req.outcome, req.columns, req.completeOn);
  const p = req.columns.length;
  const subsets = req.subsets.map((s, si) => {
    const shift = req.shifts?.[si] ?? new Array<number>(p).fill(0);
    const rows = subsetRows(d, s);
    checkCells(ds.site, d, rows, s, minCell, true);
    const sum = new Array<number>(p).fill(0), sumSq = new Array<number>(p).fill(0);
    const cross = req.crossProducts ? Array.from({ length: p }, () => new Array<number>(p).fill(0)) : undefined;
    let events = 0;
    for (const i of rows) {
      const x = d.x[i]!;
      events += d.y[i]!;
      for (let j = 0; j < p; j++) {
        const v = x[j]! - shift[j]!;
        sum[j]! += v; sumSq[j]! += v * v;
        if (cross) for (let k = 0; k <= j; k++) cross[j]![k]! += v * (x[k]! - shift[k]!);
      }
    }
    if (cross) for (let j = 0; j < p; j++) for (let k = j + 1; k < p; k++) cross[j]![k] = cross[k]![j]!;
    return { n: rows.length, events, sum, sumSq, ...(cross ? { cross } : {}) };
  });
  return { droppedMissing: d.dropped, subsets };
}

function icc(ds: SiteDataset, req: IccRequest, minCell: number) {
  const cols = req.pairs.flat();
  const d = design(ds, req.outcome, cols, req.completeOn);
  const rows = subsetRows(d, { kind: 'all' });
  checkCells(ds.site, d, rows, { kind: 'all' }, minCell, false);
  const pairs = req.pairs.map((_, k) => {
    let s1 = 0, s2 = 0, ss = 0, subjectSq = 0;
    const c = req.shift[k]!;
    for (const i of rows) {
      const a = d.x[i]![2 * k]! - c, b = d.x[i]![2 * k + 1]! - c;
      s1 += a; s2 += b; ss += a * a + b * b; subjectSq += (a + b) * (a + b);
    }
    return { n: rows.length, s1, s2, ss, subjectSq };
  });
  return { droppedMissing: d.dropped, pairs };
}

function standardizer(st: { mean: number[]; sd: number[] } | undefined): (x: Float64Array) => Float64Array {
  if (!st) return (x) => x;
  return (x) => {
    const out = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) out[j] = (x[j]! - st.mean[j]!) / st.sd[j]!;
    return out;
  };
}

function glm(ds: SiteDataset, req: GlmRequest, minCell: number) {
  const d = design(ds, req.outcome, req.columns, req.completeOn);
  const p = req.columns.length + 1;
  const tasks = req.tasks.map(({ subset, beta, standardization }): GlmSums => {
    const scale = standardizer(standardization);
    const rows = subsetRows(d, subset);
    checkCells(ds.site, d, rows, subset, minCell, true);
    checkHessian(ds.site, rows.length, p, subset);
    const score = new Array<number>(p).fill(0);
    const info = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    let deviance = 0, events = 0, saturated = 0;
    const z = new Float64Array(p);
    z[0] = 1;
    for (const i of rows) {
      const x = scale(d.x[i]!);
      for (let j = 1; j < p; j++) z[j] = x[j - 1]!;
      let eta = 0;
      for (let j = 0; j < p; j++) eta += beta[j]! * z[j]!;
      const y = d.y[i]!;
      events += y;
      const mu = expit(eta);
      const w = mu * (1 - mu);
      if (mu < 1e-10 || mu > 1 - 1e-10) saturated++;
      deviance += rowDeviance(y, eta);
      const r = y - mu;
      for (let j = 0; j < p; j++) {
        score[j]! += z[j]! * r;
        const wz = w * z[j]!;
        const row = info[j]!;
        for (let k = 0; k <= j; k++) row[k]! += wz * z[k]!;
      }
    }
    for (let j = 0; j < p; j++) for (let k = j + 1; k < p; k++) info[j]![k] = info[k]![j]!;
    return { n: rows.length, events, score, information: info, deviance, saturated };
  });
  return { droppedMissing: d.dropped, tasks };
}

function deviance(ds: SiteDataset, req: DevianceRequest, minCell: number) {
  const d = design(ds, req.outcome, req.columns, req.completeOn);
  const tasks = req.tasks.map(({ subset, betas }) => {
    const rows = subsetRows(d, subset);
    checkCells(ds.site, d, rows, subset, minCell, false);
    const dev = betas.map((beta) => {
      let s = 0;
      for (const i of rows) {
        const x = d.x[i]!;
        let eta = beta[0]!;
        for (let j = 0; j < x.length; j++) eta += beta[j + 1]! * x[j]!;
        s += rowDeviance(d.y[i]!, eta);
      }
      return s;
    });
    return { n: rows.length, deviance: dev };
  });
  return { droppedMissing: d.dropped, tasks };
}

function sketch(ds: SiteDataset, req: SketchRequest, minCell: number) {
  const d = design(ds, req.outcome, req.columns, req.completeOn);
  const rows = subsetRows(d, { kind: 'all' });
  checkCells(ds.site, d, rows, { kind: 'all' }, minCell, true);
  const counts = req.grid.map((g) => new Array<number>(g.cells).fill(0));
  for (const i of rows) {
    const x = d.x[i]!;
    req.grid.forEach((g, j) => {
      const c = Math.min(g.cells - 1, Math.max(0, Math.floor((x[j]! - g.lo) / g.width)));
      counts[j]![c]!++;
    });
  }
  return { droppedMissing: d.dropped, n: rows.length, counts };
}

/** Bin index of x: the number of edges <= x (edges sorted ascending). */
export function binOf(edges: readonly number[], x: number): number {
  let lo = 0, hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! <= x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Node of a (partial) tree a row falls into. */
export function descend(nodes: readonly TreeNode[], x: ArrayLike<number>): TreeNode {
  const byId = nodes as TreeNode[];
  let node = byId[0]!;
  while ('feature' in node) {
    const next = x[node.feature]! < node.threshold ? node.left : node.right;
    const child = byId.find((n) => n.id === next);
    if (!child) return { id: next, leaf: NaN };
    node = child;
  }
  return node;
}

export function predictTrees(trees: readonly Tree[], baseScore: number, x: ArrayLike<number>): number {
  let f = baseScore;
  for (const t of trees) {
    const leaf = descend(t.nodes, x);
    f += (leaf as { leaf: number }).leaf;
  }
  return f;
}

function histograms(ds: SiteDataset, req: HistogramRequest, minCell: number): Omit<HistogramSums, never> & { droppedMissing: number } {
  const d = design(ds, req.outcome, req.columns, req.completeOn);
  const rows = subsetRows(d, { kind: 'all' });
  checkCells(ds.site, d, rows, { kind: 'all' }, minCell, false);
  const frontier = new Set(req.growing.frontier);
  const acc = new Map<number, { id: number; count: number; grad: number[][]; hess: number[][] }>();
  for (const id of req.growing.frontier) {
    acc.set(id, { id, count: 0, grad: req.edges.map((e) => new Array<number>(e.length + 1).fill(0)), hess: req.edges.map((e) => new Array<number>(e.length + 1).fill(0)) });
  }
  for (const i of rows) {
    const x = d.x[i]!;
    const node = req.growing.nodes.length === 0 ? { id: 0 } : descend(req.growing.nodes, x);
    if (!frontier.has(node.id)) continue;
    const f = predictTrees(req.trees, req.baseScore, x);
    const mu = expit(f);
    const g = mu - d.y[i]!, h = mu * (1 - mu);
    const a = acc.get(node.id)!;
    a.count++;
    for (let j = 0; j < x.length; j++) {
      const b = binOf(req.edges[j]!, x[j]!);
      a.grad[j]![b]! += g; a.hess[j]![b]! += h;
    }
  }
  const nodes: HistogramSums['nodes'] = [];
  const small: number[] = [];
  for (const a of acc.values()) {
    if (a.count > 0 && a.count < req.minNodeRows) small.push(a.id);
    else nodes.push(a);
  }
  return { droppedMissing: d.dropped, nodes, small };
}

/** Answers one request with the site's sums, or a refusal naming the site and the reason. */
export function siteCompute(ds: SiteDataset, req: SiteRequest, options: SiteOptions = {}): SiteReply {
  const minCell = options.minCell ?? DEFAULT_MIN_CELL;
  try {
    switch (req.kind) {
      case 'moments': return { site: ds.site, ok: true, ...moments(ds, req, minCell) };
      case 'icc': return { site: ds.site, ok: true, ...icc(ds, req, minCell) };
      case 'glm': return { site: ds.site, ok: true, ...glm(ds, req, minCell) };
      case 'deviance': return { site: ds.site, ok: true, ...deviance(ds, req, minCell) };
      case 'sketch': return { site: ds.site, ok: true, ...sketch(ds, req, minCell) };
      case 'histograms': return { site: ds.site, ok: true, ...histograms(ds, req, minCell) };
    }
  } catch (err) {
    if (err instanceof Refusal) return { site: ds.site, ok: false, code: err.code, message: err.message };
    throw err;
  }
}

/** All sites in one process: the transport `fl fit` uses. */
export function localTransport(sites: readonly SiteDataset[], options: SiteOptions = {}): (req: SiteRequest) => Promise<SiteReply[]> {
  return async (req) => sites.map((s) => siteCompute(s, req, options));
}
