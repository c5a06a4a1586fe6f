// gbdt: the federated fit equals the same algorithm on the pooled rows (tree structure exactly, leaf
// values to 1e-12), and its test AUC is within 0.02 of XGBoost 1.7 (tree_method = hist) fitted on
// the pooled rows with the same parameters (fixtures/make-gbdt-fixture.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../stats/csv.js';
import { aucMannWhitney } from '../stats/roc.js';
import { siteDatasetFromRows } from './dataset.js';
import { Federation } from './federation.js';
import { bestSplit, edgesFromCounts, fitGbdt, gbdtPooled, gbdtPredict, sketchGrid, type GbdtModel } from './gbdt.js';
import { localTransport } from './site.js';

const ref = JSON.parse(readFileSync(new URL('./fixtures/gbdt-reference.json', import.meta.url), 'utf8'));
const COLS: string[] = ref.columns;
const read = (name: string) => parseCsv(readFileSync(new URL(`./fixtures/sites/${name}.csv`, import.meta.url), 'utf8'), name);
const SITES = ['gbdt_a', 'gbdt_b', 'gbdt_c'];
const matrix = (rows: Record<string, string>[]) => rows.map((r) => COLS.map((c) => Number(r[c])));
const params = { rounds: ref.params.rounds, maxDepth: ref.params.max_depth, learningRate: ref.params.learning_rate, lambda: ref.params.reg_lambda, gamma: ref.params.gamma, minChildWeight: ref.params.min_child_weight, bins: ref.params.max_bin };

function sameModel(a: Omit<GbdtModel, 'columns'>, b: Omit<GbdtModel, 'columns'>) {
  expect(a.n).toBe(b.n);
  expect(a.smallNodes).toBe(b.smallNodes);
  expect(Math.abs(a.baseScore - b.baseScore)).toBeLessThan(1e-14);
  a.edges.forEach((e, j) => { expect(e.length).toBe(b.edges[j]!.length); e.forEach((v, k) => expect(Math.abs(v - b.edges[j]![k]!)).toBeLessThan(1e-9)); });
  expect(a.trees.length).toBe(b.trees.length);
  a.trees.forEach((t, i) => {
    const u = b.trees[i]!;
    expect(t.nodes.map((nd) => ('feature' in nd ? `${nd.id}:${nd.feature}` : `${nd.id}:leaf`))).toEqual(u.nodes.map((nd) => ('feature' in nd ? `${nd.id}:${nd.feature}` : `${nd.id}:leaf`)));
    t.nodes.forEach((nd, k) => {
      const m = u.nodes[k]!;
      if ('feature' in nd && 'feature' in m) expect(Math.abs(nd.threshold - m.threshold)).toBeLessThan(1e-9);
      if ('leaf' in nd && 'leaf' in m) expect(Math.abs(nd.leaf - m.leaf)).toBeLessThan(1e-12);
    });
  });
}

describe('gbdt', () => {
  it('edges: quantiles of the merged fine-grid counts; split gain as XGBoost', () => {
    const g = sketchGrid(0, 1, 10); // cells of width 1 from -5
    expect(edgesFromCounts(g, [0, 0, 0, 0, 5, 5, 0, 0, 0, 0], 2)).toEqual([0]);
    expect(edgesFromCounts(g, [0, 0, 0, 0, 10, 0, 0, 0, 0, 0], 4)).toEqual([]); // all mass in one cell: nothing to split
    const s = bestSplit({ grad: [[-2, 2]], hess: [[1, 1]] }, { g: 0, h: 2 }, { lambda: 1, gamma: 0, minChildWeight: 0 })!;
    expect(s.gain).toBeCloseTo(4, 12); // 4/2 + 4/2 - 0
    expect(bestSplit({ grad: [[-2, 2]], hess: [[1, 1]] }, { g: 0, h: 2 }, { lambda: 1, gamma: 2, minChildWeight: 0 })).toBeNull();
  });

  it('federated over 3 sites equals the pooled-rows run; AUC within 0.02 of XGBoost', async () => {
    const sites = SITES.map((s) => siteDatasetFromRows(s, read(s)));
    const fed = new Federation(localTransport(sites));
    const t0 = performance.now();
    const model = await fitGbdt(fed, 'ln_metastasis', COLS, params);
    const ms = performance.now() - t0;
    const rows = SITES.flatMap((s) => read(s).map((r) => ({ r, s })));
    const pooled = await gbdtPooled(matrix(rows.map((x) => x.r)), rows.map((x) => Number(x.r.ln_metastasis)), params, rows.map((x) => x.s), 5);
    sameModel(model, pooled);
    expect(model.n).toBe(ref.n_train);
    // Round trips: 2 (moments) + 1 (sketch) + rounds x levels actually grown (<= depth).
    expect(fed.roundTrips).toBeLessThanOrEqual(3 + params.rounds * params.maxDepth);
    const test = read('gbdt_test');
    const auc = aucMannWhitney(test.map((r) => Number(r.ln_metastasis)), matrix(test).map((x) => gbdtPredict(model, x)))!;
    console.log(`gbdt: ${fed.roundTrips} round trips, ${ms.toFixed(0)} ms; test AUC ${auc.toFixed(4)} vs XGBoost ${ref.auc_xgboost_test.toFixed(4)}; small nodes ${model.smallNodes}`);
    expect(Math.abs(auc - ref.auc_xgboost_test)).toBeLessThan(0.02);
  });

  it('without the min_cell node rule, the federated run equals plain pooled gbdt', async () => {
    const sites = SITES.map((s) => siteDatasetFromRows(s, read(s)));
    const p2 = { ...params, rounds: 15 };
    const model = await fitGbdt(new Federation(localTransport(sites)), 'ln_metastasis', COLS, p2, 0);
    const rows = SITES.flatMap((s) => read(s));
    const pooled = await gbdtPooled(matrix(rows), rows.map((r) => Number(r.ln_metastasis)), p2);
    expect(model.smallNodes).toBe(0);
    sameModel(model, pooled);
  });
});
