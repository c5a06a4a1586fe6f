// family: gbdt - histogram-based gradient-boosted trees for a binary outcome (logistic loss), the
// scheme of federated horizontal XGBoost: bin edges from a federated quantile sketch (per-site counts
// on a fine grid around the pooled mean +- 5 sd, merged by the coordinator), then for each level of
// each tree every site returns per-node, per-feature, per-bin sums of gradients and Hessians under
// the current model; the coordinator adds them, picks the splits (XGBoost's gain with L2 `lambda`,
// `gamma`, `min_child_weight`) and sets the leaves (-G / (H + lambda), times the learning rate).
// `gbdtPooled` runs the same algorithm on pooled rows (for the equivalence test).
import { FlError } from '../errors/index.js';
import { Federation } from './federation.js';
import { pooledMoments } from './stats.js';
import { binOf, expit, predictTrees } from './site.js';
import type { Tree, TreeNode } from './protocol.js';

export interface GbdtParams {
  rounds: number;
  maxDepth: number;
  learningRate: number;
  lambda: number;
  gamma: number;
  minChildWeight: number;
  bins: number;
  sketchCells: number;
}

export const GBDT_DEFAULTS: GbdtParams = { rounds: 100, maxDepth: 3, learningRate: 0.1, lambda: 1, gamma: 0, minChildWeight: 1, bins: 32, sketchCells: 1024 };

export interface GbdtModel {
  family: 'gbdt';
  columns: string[];
  n: number; events: number;
  baseScore: number;
  edges: number[][];
  trees: Tree[];
  params: GbdtParams;
  /** Nodes not split because some site had 1..min_cell-1 rows in them. */
  smallNodes: number;
}

export interface Grid { lo: number; width: number; cells: number }

export function sketchGrid(mean: number, sd: number, cells: number): Grid {
  const s = sd > 0 ? sd : 1;
  return { lo: mean - 5 * s, width: (10 * s) / cells, cells };
}

/** Bin edges at the pooled quantiles k/bins read off the merged fine-grid counts (upper cell boundaries). */
export function edgesFromCounts(grid: Grid, counts: readonly number[], bins: number): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  const edges: number[] = [];
  let cum = 0, c = 0;
  for (let k = 1; k < bins; k++) {
    const target = (k * n) / bins;
    while (c < grid.cells && cum + counts[c]! < target) { cum += counts[c]!; c++; }
    if (c >= grid.cells - 1) break;
    const edge = grid.lo + (c + 1) * grid.width;
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  // An edge above every value (or below every value) splits nothing: drop edges with no mass on one side.
  let below = 0;
  const kept: number[] = [];
  let ci = 0;
  for (const e of edges) {
    while (ci < grid.cells && grid.lo + (ci + 1) * grid.width <= e + grid.width * 1e-9) { below += counts[ci]!; ci++; }
    if (below > 0 && below < n) kept.push(e);
  }
  return kept;
}

interface NodeStats { g: number; h: number }
interface Histo { grad: number[][]; hess: number[][] }

export interface Split { feature: number; bin: number; gain: number; left: NodeStats; right: NodeStats }

/** Best split of a node from its histograms (ties: lowest feature, then lowest bin), or null. */
export function bestSplit(hist: Histo, total: NodeStats, p: Pick<GbdtParams, 'lambda' | 'gamma' | 'minChildWeight'>): Split | null {
  const score = (g: number, h: number) => (g * g) / (h + p.lambda);
  const parent = score(total.g, total.h);
  let best: Split | null = null;
  hist.grad.forEach((gb, f) => {
    const hb = hist.hess[f]!;
    let gl = 0, hl = 0;
    for (let b = 0; b < gb.length - 1; b++) {
      gl += gb[b]!; hl += hb[b]!;
      const gr = total.g - gl, hr = total.h - hl;
      if (hl < p.minChildWeight || hr < p.minChildWeight) continue;
      const gain = score(gl, hl) + score(gr, hr) - parent;
      if (!(0.5 * gain > p.gamma)) continue;
      if (!best || gain > best.gain) best = { feature: f, bin: b, gain, left: { g: gl, h: hl }, right: { g: gr, h: hr } };
    }
  });
  return best;
}

/** Source of per-node histograms: the federation, or pooled rows. */
type HistogramSource = (trees: Tree[], growing: { nodes: TreeNode[]; frontier: number[] }) => Promise<{ nodes: Map<number, Histo & { count: number }>; small: Set<number> }>;

async function growTrees(params: GbdtParams, baseScore: number, edges: number[][], source: HistogramSource): Promise<{ trees: Tree[]; smallNodes: number }> {
  const trees: Tree[] = [];
  let smallNodes = 0;
  const leafValue = (s: NodeStats) => (-params.learningRate * s.g) / (s.h + params.lambda);
  for (let round = 0; round < params.rounds; round++) {
    const nodes: TreeNode[] = [];
    const stats = new Map<number, NodeStats>();
    let frontier = [0];
    for (let depth = 0; depth < params.maxDepth && frontier.length > 0; depth++) {
      const h = await source(trees, { nodes: [...nodes], frontier });
      const next: number[] = [];
      for (const id of frontier) {
        const hist = h.nodes.get(id);
        if (id === 0) {
          if (!hist) throw new FlError('tabular.gbdt', 'gbdt: no site could histogram the root node');
          stats.set(0, { g: hist.grad[0]!.reduce((a, b) => a + b, 0), h: hist.hess[0]!.reduce((a, b) => a + b, 0) });
        }
        const total = stats.get(id)!;
        if (h.small.has(id) || !hist) {
          if (h.small.has(id)) smallNodes++;
          nodes.push({ id, leaf: leafValue(total) });
          continue;
        }
        const split = bestSplit(hist, total, params);
        if (!split) { nodes.push({ id, leaf: leafValue(total) }); continue; }
        const left = 2 * id + 1, right = 2 * id + 2;
        nodes.push({ id, feature: split.feature, threshold: edges[split.feature]![split.bin]!, left, right });
        stats.set(left, split.left); stats.set(right, split.right);
        next.push(left, right);
      }
      frontier = next;
    }
    for (const id of frontier) nodes.push({ id, leaf: leafValue(stats.get(id)!) });
    nodes.sort((a, b) => a.id - b.id);
    trees.push({ nodes });
  }
  return { trees, smallNodes };
}

/** Federated gbdt over the sites behind `fed`. */
export async function fitGbdt(fed: Federation, outcome: string, columns: string[], partial: Partial<GbdtParams> = {}, minCell = 5): Promise<GbdtModel> {
  const params = { ...GBDT_DEFAULTS, ...partial };
  const [m] = await pooledMoments(fed, outcome, columns, undefined, { screening: true });
  if (m!.events === 0 || m!.events === m!.n) throw new FlError('tabular.outcome', `gbdt: the pooled outcome "${outcome}" has a single class`);
  const grid = columns.map((_, j) => sketchGrid(m!.mean[j]!, m!.sd[j]!, params.sketchCells));
  const sk = await fed.ask({ kind: 'sketch', outcome, columns, grid });
  const edges = grid.map((g, j) => edgesFromCounts(g, g.cells ? Array.from({ length: g.cells }, (_, c) => sk.reduce((a, r) => a + r.counts[j]![c]!, 0)) : [], params.bins));
  const baseScore = Math.log(m!.events / (m!.n - m!.events));
  const source: HistogramSource = async (trees, growing) => {
    const replies = await fed.ask({ kind: 'histograms', outcome, columns, edges, baseScore, learningRate: params.learningRate, trees, growing, minNodeRows: minCell });
    const nodes = new Map<number, Histo & { count: number }>();
    const small = new Set<number>();
    for (const r of replies) {
      r.small.forEach((id) => small.add(id));
      for (const nd of r.nodes) {
        const acc = nodes.get(nd.id);
        if (!acc) { nodes.set(nd.id, { count: nd.count, grad: nd.grad.map((a) => [...a]), hess: nd.hess.map((a) => [...a]) }); continue; }
        acc.count += nd.count;
        nd.grad.forEach((a, f) => a.forEach((v, b) => { acc.grad[f]![b]! += v; }));
        nd.hess.forEach((a, f) => a.forEach((v, b) => { acc.hess[f]![b]! += v; }));
      }
    }
    return { nodes, small };
  };
  const { trees, smallNodes } = await growTrees(params, baseScore, edges, source);
  return { family: 'gbdt', columns, n: m!.n, events: m!.events, baseScore, edges, trees, params, smallNodes };
}

/**
 * The same algorithm on pooled rows (no sites, no protocol): pooled moments, fine-grid counts, bin
 * edges, histograms by direct iteration. `group` (optional, the site of each row) applies the same
 * min_cell node rule as the federated run.
 */
export async function gbdtPooled(x: number[][], y: number[], partial: Partial<GbdtParams> = {}, group?: string[], minCell = 5): Promise<Omit<GbdtModel, 'columns'>> {
  const params = { ...GBDT_DEFAULTS, ...partial };
  const n = y.length, p = x[0]!.length;
  const mean = Array.from({ length: p }, (_, j) => x.reduce((a, r) => a + r[j]!, 0) / n);
  const mean2 = mean.map((mu, j) => mu + x.reduce((a, r) => a + (r[j]! - mu), 0) / n);
  const sd = mean.map((mu, j) => {
    const s1 = x.reduce((a, r) => a + (r[j]! - mu), 0);
    return Math.sqrt(Math.max(0, x.reduce((a, r) => a + (r[j]! - mu) ** 2, 0) - (s1 * s1) / n) / n);
  });
  const grid = mean2.map((mu, j) => sketchGrid(mu, sd[j]!, params.sketchCells));
  const edges = grid.map((g, j) => {
    const counts = new Array<number>(g.cells).fill(0);
    for (const r of x) counts[Math.min(g.cells - 1, Math.max(0, Math.floor((r[j]! - g.lo) / g.width)))]!++;
    return edgesFromCounts(g, counts, params.bins);
  });
  const events = y.reduce((a, b) => a + b, 0);
  const baseScore = Math.log(events / (n - events));
  const source: HistogramSource = async (trees, growing) => {
    const nodes = new Map<number, Histo & { count: number }>();
    const perGroup = new Map<number, Map<string, number>>();
    for (const id of growing.frontier) nodes.set(id, { count: 0, grad: edges.map((e) => new Array<number>(e.length + 1).fill(0)), hess: edges.map((e) => new Array<number>(e.length + 1).fill(0)) });
    x.forEach((r, i) => {
      let id = 0;
      if (growing.nodes.length > 0) {
        let node = growing.nodes.find((nd) => nd.id === 0)!;
        while ('feature' in node) {
          const nextId = r[node.feature]! < node.threshold ? node.left : node.right;
          const child = growing.nodes.find((nd) => nd.id === nextId);
          if (!child) { id = nextId; break; }
          node = child;
          id = node.id;
        }
      }
      const acc = nodes.get(id);
      if (!acc) return;
      const mu = expit(predictTrees(trees, baseScore, r));
      const g = mu - y[i]!, h = mu * (1 - mu);
      acc.count++;
      r.forEach((v, j) => { const b = binOf(edges[j]!, v); acc.grad[j]![b]! += g; acc.hess[j]![b]! += h; });
      if (group) { const m = perGroup.get(id) ?? new Map<string, number>(); m.set(group[i]!, (m.get(group[i]!) ?? 0) + 1); perGroup.set(id, m); }
    });
    const small = new Set<number>();
    for (const [id, m] of perGroup) if ([...m.values()].some((c) => c > 0 && c < minCell)) small.add(id);
    return { nodes, small };
  };
  const { trees, smallNodes } = await growTrees(params, baseScore, edges, source);
  return { family: 'gbdt', n, events, baseScore, edges, trees, params, smallNodes };
}

/** Predicted probability of a row (values in the model's column order). */
export function gbdtPredict(model: Pick<GbdtModel, 'trees' | 'baseScore'>, x: ArrayLike<number>): number {
  return expit(predictTrees(model.trees, model.baseScore, x));
}
