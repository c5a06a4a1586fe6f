// A fitted tabular model as a tensor set, so the model store, the freeze (digest in the study
// log), downloads, held-out scoring and `fl audit` treat it exactly like an image network.
// Tensors carry float32 only; every float64 value is stored as a (hi, lo) pair of float32s
// (hi = fround(v), lo = fround(v - hi)), which keeps ~48 bits: the site scores with the
// coefficients the coordinator fitted, not a rounded copy. Names describe the model (feature
// names, dependencies), so the digest binds them too:
//   tabular/family/<family>                      [1]     marker
//   tabular/intercept                            [2]     logistic / lasso
//   tabular/coef/<feature>                       [2]     one per feature, model order
//   tabular/base_score                           [2]     gbdt
//   tabular/edges/<feature>                      [k, 2]  gbdt bin edges, one per feature
//   tabular/trees                                [m, 5, 2] gbdt nodes (tree, id, feature|-1, threshold|leaf, left, right packed below)
//   tabular/dep/<model>/<version>/<digest>       [1]     a frozen model whose score is an input
import { FlError } from '../../errors/index.js';
import type { TensorInfo, TensorSet } from '../../tensor/tensor-set.js';

export type TabularFamilyName = 'logistic' | 'lasso_logistic' | 'gbdt';

export interface TreeNodeRecord { id: number; feature?: number; threshold?: number; left?: number; right?: number; leaf?: number }

export interface TabularModel {
  readonly family: TabularFamilyName;
  /** Inputs in model order (manifest columns, `gsus.lesion.<feature>`, other models' names). */
  readonly features: readonly string[];
  /** Linear models: intercept and coefficients on the original scale. */
  readonly intercept?: number;
  readonly coef?: readonly number[];
  /** gbdt: base score, bin edges per feature (kept for the record) and trees. */
  readonly baseScore?: number;
  readonly edges?: readonly (readonly number[])[];
  readonly trees?: readonly { nodes: readonly TreeNodeRecord[] }[];
  /** Frozen models whose scores (by name in `features`) or deep features (`pca`) are inputs. */
  readonly dependencies: readonly { model: string; version: number; digest: string }[];
  /** Principal components of an image model's penultimate-layer features (pooled covariance): PC = loading . (x - center). */
  readonly pca?: readonly PcaInput[];
}

export interface PcaInput {
  readonly model: string;
  /** Feature names of the components, e.g. `ddfn.pc1`. */
  readonly names: readonly string[];
  readonly center: readonly number[];
  /** One loading vector per component (length = the network's feature width). */
  readonly loadings: readonly (readonly number[])[];
}

/** The columns of an image model's penultimate-layer features as tabular inputs (`ddfn.deep.0`, ...). */
export const deepColumn = (model: string, k: number): string => `${model}.deep.${k}`;

/** Principal-component columns from raw deep-feature columns. */
export function pcaColumns(p: PcaInput, raw: (k: number) => Float64Array, rows: number): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  p.names.forEach((name, c) => {
    const col = new Float64Array(rows);
    const w = p.loadings[c]!;
    for (let k = 0; k < w.length; k++) {
      const x = raw(k), m = p.center[k]!, wk = w[k]!;
      for (let i = 0; i < rows; i++) col[i]! += wk * (x[i]! - m);
    }
    out.set(name, col);
  });
  return out;
}

const UNFITTED = 'tabular/unfitted';

/** The initial "model" of a tabular family before its fit: one marker tensor. */
export function unfittedTensorSet(): TensorSet {
  return { infos: [{ name: UNFITTED, shape: [1], dtype: 'float32' }], data: new Float32Array(1) };
}

export function isUnfitted(set: TensorSet): boolean {
  return set.infos.length === 1 && set.infos[0]!.name === UNFITTED;
}

function split(v: number): [number, number] {
  const hi = Math.fround(v);
  return [hi, Math.fround(v - hi)];
}

const NAME_OK = /^[^\s/]+$/;

function checkName(name: string, what: string): void {
  if (!NAME_OK.test(name)) throw new FlError('tabular.model', `${what} "${name}" cannot be stored (no spaces or "/")`);
}

export function encodeTabularModel(m: TabularModel): TensorSet {
  const infos: TensorInfo[] = [];
  const values: number[] = [];
  const push = (name: string, shape: number[], data: number[]) => {
    infos.push({ name, shape, dtype: 'float32' });
    values.push(...data);
  };
  const pair = (v: number) => split(v);
  push(`tabular/family/${m.family}`, [1], [0]);
  for (const f of m.features) checkName(f, 'feature');
  if (m.family === 'gbdt') {
    if (m.baseScore === undefined || !m.edges || !m.trees) throw new FlError('tabular.model', 'a gbdt model needs baseScore, edges and trees');
    push('tabular/base_score', [2], pair(m.baseScore));
    m.features.forEach((f, j) => {
      const e = m.edges![j] ?? [];
      push(`tabular/edges/${f}`, [e.length, 2], e.flatMap(pair));
    });
    const rows: number[] = [];
    let count = 0;
    m.trees.forEach((t, ti) => {
      for (const n of t.nodes) {
        const internal = n.feature !== undefined;
        rows.push(...pair(ti), ...pair(n.id), ...pair(internal ? n.feature! : -1), ...pair(internal ? n.threshold! : n.leaf!),
          ...pair(internal ? n.left! : -1), ...pair(internal ? n.right! : -1));
        count++;
      }
    });
    push('tabular/trees', [count, 6, 2], rows);
  } else {
    if (m.intercept === undefined || !m.coef || m.coef.length !== m.features.length) throw new FlError('tabular.model', 'a linear model needs an intercept and one coefficient per feature');
    push('tabular/intercept', [2], pair(m.intercept));
    m.features.forEach((f, j) => push(`tabular/coef/${f}`, [2], pair(m.coef![j]!)));
  }
  for (const p of m.pca ?? []) {
    checkName(p.model, 'model');
    push(`tabular/pca/${p.model}/center`, [p.center.length, 2], p.center.flatMap(pair));
    p.names.forEach((name, c) => {
      checkName(name, 'component');
      if (p.loadings[c]!.length !== p.center.length) throw new FlError('tabular.model', `component ${name}: ${p.loadings[c]!.length} loadings for ${p.center.length} features`);
      push(`tabular/pca/${p.model}/pc/${name}`, [p.center.length, 2], p.loadings[c]!.flatMap(pair));
    });
  }
  for (const d of m.dependencies) {
    checkName(d.model, 'model');
    if (!/^[0-9a-f]{64}$/.test(d.digest)) throw new FlError('tabular.model', `dependency "${d.model}": digest must be 64 hex digits`);
    push(`tabular/dep/${d.model}/${d.version}/${d.digest}`, [1], [0]);
  }
  return { infos, data: Float32Array.from(values) };
}

export function decodeTabularModel(set: TensorSet, what = 'model'): TabularModel {
  if (isUnfitted(set)) throw new FlError('tabular.unfitted', `${what} has not been fitted yet (its fit runs after the image rounds, before the freeze)`);
  let offset = 0;
  let family: TabularFamilyName | undefined;
  const features: string[] = [];
  const coef: number[] = [];
  const edges: number[][] = [];
  const deps: { model: string; version: number; digest: string }[] = [];
  let intercept: number | undefined, baseScore: number | undefined;
  let treeRows: number[][] = [];
  const pca: { model: string; names: string[]; center: number[]; loadings: number[][] }[] = [];
  const read = (n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i += 2) out.push(set.data[offset + i]! + set.data[offset + i + 1]!);
    return out;
  };
  for (const info of set.infos) {
    const size = info.shape.reduce((a, b) => a * b, 1);
    const [, kind, ...rest] = info.name.split('/');
    if (info.name.split('/')[0] !== 'tabular') throw new FlError('tabular.model', `${what}: tensor "${info.name}" is not part of a tabular model`);
    if (kind === 'family') family = rest[0] as TabularFamilyName;
    else if (kind === 'intercept') intercept = read(size)[0]!;
    else if (kind === 'base_score') baseScore = read(size)[0]!;
    else if (kind === 'coef') { features.push(rest.join('/')); coef.push(read(size)[0]!); }
    else if (kind === 'edges') { features.push(rest.join('/')); edges.push(read(size)); }
    else if (kind === 'trees') {
      const v = read(size);
      treeRows = [];
      for (let i = 0; i < v.length; i += 6) treeRows.push(v.slice(i, i + 6));
    } else if (kind === 'dep') deps.push({ model: rest[0]!, version: Number(rest[1]), digest: rest[2]! });
    else if (kind === 'pca') {
      let p = pca.find((x) => x.model === rest[0]);
      if (!p) { p = { model: rest[0]!, names: [], center: [], loadings: [] }; pca.push(p); }
      if (rest[1] === 'center') p.center = read(size);
      else { p.names.push(rest[2]!); p.loadings.push(read(size)); }
    }
    else throw new FlError('tabular.model', `${what}: unknown tensor "${info.name}"`);
    offset += size;
  }
  if (family !== 'logistic' && family !== 'lasso_logistic' && family !== 'gbdt') throw new FlError('tabular.model', `${what}: no tabular family marker`);
  if (family === 'gbdt') {
    const trees: { nodes: TreeNodeRecord[] }[] = [];
    for (const [t, id, feature, thr, left, right] of treeRows) {
      while (trees.length <= t!) trees.push({ nodes: [] });
      trees[t!]!.nodes.push(feature! >= 0 ? { id: id!, feature: feature!, threshold: thr!, left: left!, right: right! } : { id: id!, leaf: thr! });
    }
    return { family, features, baseScore: baseScore!, edges, trees, dependencies: deps, ...(pca.length ? { pca } : {}) };
  }
  return { family, features, intercept: intercept!, coef, dependencies: deps, ...(pca.length ? { pca } : {}) };
}

function descend(nodes: readonly TreeNodeRecord[], x: ArrayLike<number>): number {
  let node = nodes[0]!;
  for (let guard = 0; node.feature !== undefined && guard < 10_000; guard++) {
    const next = x[node.feature]! < node.threshold! ? node.left! : node.right!;
    node = nodes.find((n) => n.id === next)!;
  }
  return node.leaf!;
}

/** The model's linear predictor (log-odds) for one case, features in model order. */
export function linearPredictor(m: TabularModel, x: ArrayLike<number>): number {
  if (m.family === 'gbdt') {
    let f = m.baseScore!;
    for (const t of m.trees!) f += descend(t.nodes, x);
    return f;
  }
  let eta = m.intercept!;
  for (let j = 0; j < m.coef!.length; j++) eta += m.coef![j]! * x[j]!;
  return eta;
}

export function expit(eta: number): number {
  return eta >= 0 ? 1 / (1 + Math.exp(-eta)) : Math.exp(eta) / (1 + Math.exp(eta));
}
