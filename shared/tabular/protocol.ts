// The federated protocol of the tabular models: what the coordinator asks a site, and the sums a
// site answers with. Rows never appear in a reply: only counts, sums, sums of squares and
// cross-products, gradients, information matrices and per-bin gradient/Hessian histograms.
// The transport is abstract: `fl fit` runs the sites in-process, the coordinator will send the same
// requests over gRPC.

/** Which rows of a site a sum is computed on: all complete cases, or the train/test part of a CV fold. */
export type Subset =
  | { kind: 'all' }
  | { kind: 'fold'; fold: number; folds: number; seed: number; part: 'train' | 'test' };

export const ALL: Subset = { kind: 'all' };

interface Base {
  /** Outcome column (0/1). */
  outcome: string;
  /** Predictor columns; a row with a missing value in any of them (or the outcome) is dropped. */
  columns: string[];
  /** Further columns a row must have a value in to be used (so every request of a fit sees the same cases). */
  completeOn?: string[];
}

/** Counts, sums and centred cross-products of the columns (for means, sds, Pearson r, covariance/PCA). */
export interface MomentsRequest extends Base {
  kind: 'moments';
  subsets: Subset[];
  /** Per subset, subtracted before summing (numerical stability): the pooled means of an earlier round; default 0. */
  shifts?: number[][];
  /** Also return the full cross-product matrix (p x p). */
  crossProducts?: boolean;
}
export interface MomentsSums {
  n: number; events: number; sum: number[]; sumSq: number[]; cross?: number[][];
}

/** Two-way ANOVA sums for ICC(2,1) of pairs (first delineation, second delineation). */
export interface IccRequest extends Base {
  kind: 'icc';
  pairs: [string, string][];
  /** One shift per pair (the pooled mean of the pair), subtracted from both readings. */
  shift: number[];
}
export interface IccSums {
  /** Per pair: n, sum of reading 1, sum of reading 2, sum of squares of all readings, sum of squared subject totals. */
  pairs: { n: number; s1: number; s2: number; ss: number; subjectSq: number }[];
}

/** Logistic score vector and information matrix at `beta` ([intercept, columns...], original scale). */
export interface GlmRequest extends Base {
  kind: 'glm';
  /**
   * `standardization`: use (x - mean) / sd for each column (the LASSO works on this scale; each CV
   * fold has its own); the intercept column is not standardised.
   */
  tasks: { subset: Subset; beta: number[]; standardization?: { mean: number[]; sd: number[] } }[];
}
export interface GlmSums {
  n: number; events: number;
  /** X'(y - p), length p + 1. */
  score: number[];
  /** X'WX, W = p(1 - p). */
  information: number[][];
  /** -2 log-likelihood. */
  deviance: number;
  /** Rows with a fitted probability within 1e-10 of 0 or 1 (quasi-separation signal). */
  saturated: number;
}

/** Held-out binomial deviance of many coefficient vectors (original scale) on test parts of folds. */
export interface DevianceRequest extends Base {
  kind: 'deviance';
  tasks: { subset: Subset; betas: number[][] }[];
}
export interface DevianceSums { tasks: { n: number; deviance: number[] }[] }

/** Counts on a fine equal-width grid of each column (for federated quantile sketches / bin edges). */
export interface SketchRequest extends Base {
  kind: 'sketch';
  /** Per column: lower end, cell width and number of cells; values outside go to the end cells. */
  grid: { lo: number; width: number; cells: number }[];
}
export interface SketchSums { n: number; counts: number[][] }

/** One node of a regression tree on binned features: split `x < threshold` goes left. */
export type TreeNode =
  | { id: number; feature: number; threshold: number; left: number; right: number }
  | { id: number; leaf: number };
export interface Tree { nodes: TreeNode[] }

/** Per node, per feature, per bin: sums of logistic gradients and Hessians under the current model. */
export interface HistogramRequest extends Base {
  kind: 'histograms';
  /** Bin edges per column; bin b holds edges[b-1] <= x < edges[b]. */
  edges: number[][];
  baseScore: number;
  learningRate: number;
  /** Finished trees (their leaves already scaled by the learning rate). */
  trees: Tree[];
  /** The tree being grown: internal nodes so far; `frontier` lists the node ids to histogram. */
  growing: { nodes: TreeNode[]; frontier: number[] };
  /** A node with fewer rows of this site than this (but more than 0) is not histogrammed (disclosure). */
  minNodeRows: number;
}
export interface HistogramSums {
  /** node id -> { count, grad[feature][bin], hess[feature][bin] }; nodes under min_cell are listed in `small`. */
  nodes: { id: number; count: number; grad: number[][]; hess: number[][] }[];
  small: number[];
}

export type SiteRequest = MomentsRequest | IccRequest | GlmRequest | DevianceRequest | SketchRequest | HistogramRequest;

export interface SiteSumsByKind {
  moments: { subsets: MomentsSums[] };
  icc: IccSums;
  glm: { tasks: GlmSums[] };
  deviance: DevianceSums;
  sketch: SketchSums;
  histograms: HistogramSums;
}

/** Why a site refused: fewer than min_cell cases (or outcome cell), or fewer rows than parameters for a Hessian. */
export type RefusalCode = 'min_cell' | 'hessian_rows' | 'no_rows';

export type SiteReply<K extends SiteRequest['kind'] = SiteRequest['kind']> =
  | ({ site: string; ok: true; droppedMissing: number } & SiteSumsByKind[K])
  | { site: string; ok: false; code: RefusalCode; message: string };

/** Sends one request to every site and returns their replies (one round trip). */
export type Transport = (request: SiteRequest) => Promise<SiteReply[]>;
