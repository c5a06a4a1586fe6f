// The coordinator's fit from sums through the whole site path but in one process: the tabular
// family bound to each simulated site's table (its `train` cohort only), the `tabular.sums`
// payload as JSON both ways, the site's reply checked by its privacy guard (numbers only), and
// the coordinator's transport over a PhaseTransport. The fits equal R's glm / glmnet on the
// pooled rows (shared/tabular/fixtures, made by make-fixtures.R); refusals name the site.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { parseCsv } from '../shared/stats/csv.js';
import { getFamily } from '../shared/families/registry.js';
import { decodeTabularModel, encodeTabularModel } from '../shared/families/tabular/index.js';
import type { Cohort, SiteData, TabularTable } from '../shared/families/data.js';
import type { PhaseTransport } from '../shared/strategies/types.js';
import { fitTabular } from '../shared/tabular/fit.js';
import { studySchema } from '../shared/config/study.js';
import { fitModelsFromSums, fitOrder, fitSpecOf, modelOf, sumsTransport } from './fit-from-sums.js';
import { StudyFailedError } from './round-engine.js';
import { PrivacyGuard } from '../site-agent/privacy-guard.js';

const ref = JSON.parse(readFileSync(new URL('../shared/tabular/fixtures/reference.json', import.meta.url), 'utf8'));
const CLIN = ['age', 'tumor_size_mm', 'ki67', 'aus_positive'];
const log = pino({ level: 'silent' });

/** A site's data as the family sees it: the fixture rows are the `train` cohort, plus validation rows that must never be summed. */
function siteData(name: string): SiteData {
  const rows = parseCsv(readFileSync(new URL(`../shared/tabular/fixtures/sites/${name}.csv`, import.meta.url), 'utf8'), name);
  const header = Object.keys(rows[0]!).filter((h) => h !== 'case_id' && h !== 'ln_metastasis');
  const all: Record<string, string>[] = [...rows.map((r) => ({ ...r, cohort: 'train' })), ...rows.slice(0, 7).map((r, i) => ({ ...r, case_id: `v${i}`, cohort: 'validation', age: '999' }))];
  const part = (cohort: Cohort): TabularTable => {
    const rs = all.filter((r) => r.cohort === cohort);
    const num = (v: string | undefined) => (v === undefined || v.trim() === '' || v === 'NA' ? NaN : Number(v));
    return {
      cohort, caseIds: rs.map((r) => r.case_id!), labels: Float64Array.from(rs, (r) => num(r.ln_metastasis)),
      columns: new Map(header.map((h) => [h, Float64Array.from(rs, (r) => num(r[h]))])),
    };
  };
  return {
    site: name,
    async images() { throw new Error('no images'); },
    async table() { return { forTraining: () => part('train') as TabularTable & { cohort: 'train' }, forEvaluation: part }; },
  };
}

/** A PhaseTransport whose sites are the family bound in-process; replies pass the site's privacy guard. */
async function phaseTransport(names: string[], config: Record<string, unknown>, architecture = 'logistic'): Promise<PhaseTransport & { calls: number }> {
  const fam = getFamily(architecture);
  const bound = new Map(await Promise.all(names.map(async (n) => [n, await fam.openSite({ name: 'm', architecture, config }, siteData(n))] as const)));
  const guards = new Map(names.map((n) => [n, new PrivacyGuard({ studyId: 's', siteId: n, log })]));
  const t = {
    sites: names, calls: 0,
    async exchange(phase: string, requests: ReadonlyMap<string, Uint8Array>) {
      t.calls++;
      const answers = new Map<string, Uint8Array>();
      const failures: { site: string; reason: string }[] = [];
      for (const [site, bytes] of requests) {
        const payload = JSON.parse(new TextDecoder().decode(bytes));
        try {
          const sums = await bound.get(site)!.sums!({ dependencies: payload.dependencies, request: payload.request });
          const out = new TextEncoder().encode(JSON.stringify(sums));
          guards.get(site)!.guardOutbound('phase-reply', { exchangeId: 'x-1', phase, payload: out, error: '' });
          answers.set(site, out);
        } catch (err) {
          failures.push({ site, reason: `${phase}: refused: ${(err as Error).message}` });
        }
      }
      return { answers, failures };
    },
  };
  return t;
}

const stats = () => ({ bytesOut: 0, bytesIn: 0 });
const base = { spec: {}, modelConfigs: {}, dependencies: [] };

describe('fit from sums through the tabular family', () => {
  it('logistic equals R glm on the pooled rows (1e-6); validation rows are never summed; the fitted model scores at the site', async () => {
    const config = { inputs: { columns: CLIN } };
    const entry = { name: 'clinical', architecture: 'logistic', config };
    const pt = await phaseTransport(['main_a', 'main_b', 'main_c'], config);
    const spec = { ...fitSpecOf(entry) };
    const f = await fitTabular(sumsTransport(pt, base, 1000, stats()), spec);
    expect(f.n).toBe(ref.main.glm.n);
    expect(f.events).toBe(ref.main.glm.events);
    f.terms.forEach((t, i) => {
      const r = ref.main.glm.terms[i];
      expect(t.term).toBe(r.term);
      expect(Math.abs(t.estimate! - r.estimate)).toBeLessThan(1e-6 * Math.max(1, Math.abs(r.estimate)));
      expect(Math.abs(t.std_error! - r.std_error)).toBeLessThan(1e-6 * Math.max(1, Math.abs(r.std_error)));
    });
    expect(pt.calls).toBe(f.round_trips);
    // The stored model scores the site's cases with the fitted coefficients.
    const set = encodeTabularModel(modelOf(f, []));
    const site = await getFamily('logistic').openSite(entry, siteData('main_a'));
    const scored = await site.score(set, ['train']);
    const m = decodeTabularModel(set);
    const first = parseCsv(readFileSync(new URL('../shared/tabular/fixtures/sites/main_a.csv', import.meta.url), 'utf8'), 'a').find((r) => CLIN.every((c) => r[c] !== '' && r[c] !== 'NA'))!;
    const eta = m.intercept! + CLIN.reduce((a, c, j) => a + m.coef![j]! * Number(first[c]), 0);
    expect(scored.find((s) => s.caseId === first.case_id)!.score).toBeCloseTo(1 / (1 + Math.exp(-eta)), 12);
  });

  it('lasso_logistic at a fixed lambda equals glmnet (1e-4)', async () => {
    const fit = ref.main.glmnet.fits[0];
    // glmnet on the clinical columns and f1..f8 (make-fixtures.R); no redundancy filter.
    const config = { inputs: { columns: [...CLIN, 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'] }, selection: { pearson_max: 1, lasso: { lambda: fit.lambda } } };
    const pt = await phaseTransport(['main_a', 'main_b', 'main_c'], config, 'lasso_logistic');
    const f = await fitTabular(sumsTransport(pt, base, 1000, stats()), { ...fitSpecOf({ name: 'r', architecture: 'lasso_logistic', config }) });
    expect(f.lambda).toBe(fit.lambda);
    for (const t of f.terms) expect(Math.abs(t.estimate! - fit.coef[t.term])).toBeLessThan(1e-4);
  });

  it('a site below min_cell refuses; the fit fails naming it; a site that does not answer fails the fit', async () => {
    const config = { inputs: { columns: CLIN } };
    const pt = await phaseTransport(['mincell_a', 'mincell_b', 'mincell_c', 'mincell_d'], config);
    await expect(fitTabular(sumsTransport(pt, base, 1000, stats()), { ...fitSpecOf({ name: 'c', architecture: 'logistic', config }) }))
      .rejects.toThrow(/site mincell_d: .*fewer than min_cell = 5/);
    const silent: PhaseTransport = { sites: ['a'], exchange: async () => ({ answers: new Map(), failures: [{ site: 'a', reason: 'tabular.sums: no answer within 5 s' }] }) };
    await expect(sumsTransport(silent, base, 1000, stats())({ kind: 'moments', outcome: 'y', columns: ['x'], subsets: [{ kind: 'all' }] })).rejects.toThrow(StudyFailedError);
    // A site cut off once is asked again when it is back; the second answer completes the request.
    let calls = 0;
    const flaky: PhaseTransport = {
      sites: ['a', 'b'],
      exchange: async (_p, req) => {
        calls++;
        const ok = new TextEncoder().encode('{"droppedMissing":0,"subsets":[{"n":6,"events":3,"sum":[1],"sumSq":[2]}]}');
        if (calls === 1) return { answers: new Map([['a', ok]]), failures: [{ site: 'b', reason: 'tabular.sums: disconnected (network)' }] };
        expect([...req.keys()]).toEqual(['b']);
        return { answers: new Map([['b', ok]]), failures: [] };
      },
    };
    const st = stats();
    const got = await sumsTransport(flaky, base, 1000, st, { attempts: 2, waitFor: async () => true })({ kind: 'moments', outcome: 'y', columns: ['x'], subsets: [{ kind: 'all' }] });
    expect(got.map((r) => r.site)).toEqual(['a', 'b']);
    expect((st as { retries?: number }).retries).toBe(1);
    await expect(sumsTransport(silent, base, 1000, stats(), { attempts: 2, waitFor: async () => false })({ kind: 'moments', outcome: 'y', columns: ['x'], subsets: [{ kind: 'all' }] })).rejects.toThrow(/the fit needs every site's sums; a: tabular.sums: no answer within 5 s/);
    const bad: PhaseTransport = { sites: ['a'], exchange: async () => ({ answers: new Map([['a', new TextEncoder().encode('{"droppedMissing":0,"subsets":[{"n":"many"}]}')]]), failures: [] }) };
    await expect(sumsTransport(bad, base, 1000, stats())({ kind: 'moments', outcome: 'y', columns: ['x'], subsets: [{ kind: 'all' }] })).rejects.toThrow(/site a: its moments reply does not have the expected shape \(subsets\.0\.n/);
  });
});

describe('study config and fit order', () => {
  const study = (models: unknown[]) => studySchema.safeParse({ id: 's', rounds: 1, min_sites: 1, models });
  it('tabular words beside image entries; dependency order; errors name the field', () => {
    const r = study([
      { name: 'combined', family: 'logistic', inputs: { columns: ['age'], scores: ['radscore', 'ddfn'] } },
      { name: 'ddfn', architecture: 'ddfn', config: {} },
      { name: 'radscore', family: 'lasso_logistic', inputs: { radiomics: { modality: 'gsus', regions: ['lesion'], features: ['stat_mean', 'cm_energy'] } }, selection: { lasso: { folds: 5, rule: '1se' } } },
    ]);
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
    const models = r.data!.models;
    expect(models[0]).toMatchObject({ name: 'combined', family: 'logistic', architecture: 'logistic', config: { inputs: { columns: ['age'], scores: ['radscore', 'ddfn'] } } });
    expect(fitOrder(models)).toEqual(['radscore', 'combined']);
    const spec = fitSpecOf({ name: 'radscore', architecture: 'lasso_logistic', config: models[2]!.config });
    expect(spec.columns).toEqual(['gsus.lesion.stat_mean', 'gsus.lesion.cm_energy']);
    expect(spec.iccPairs).toEqual({ 'gsus.lesion.stat_mean': 'gsus.lesion.stat_mean@mask_2', 'gsus.lesion.cm_energy': 'gsus.lesion.cm_energy@mask_2' });
    expect(spec).toMatchObject({ iccMin: 0.75, pearsonMax: 0.9, folds: 5, rule: '1se' });
    const typed = { inputs: { columns: ['age', { name: 'aus_positive', type: 'binary' }, { name: 'subtype', type: 'categorical', levels: ['luminal_a', 'her2', 'tnbc'] }] } };
    expect(fitSpecOf({ name: 'c', architecture: 'logistic', config: typed }).columns).toEqual(['age', 'aus_positive', 'subtype=her2', 'subtype=tnbc']);
    expect(() => fitSpecOf({ name: 'c', architecture: 'logistic', config: { inputs: { columns: [{ name: 'subtype', type: 'categorical' }] } } })).toThrow(/inputs\.columns\[0\]\.levels: categorical column "subtype" needs its levels/);
    const sa = studySchema.safeParse({ id: 's', rounds: 1, min_sites: 3, sites: ['a', 'b', 'c'], outlier_norm_factor: 0, secure_aggregation: { enabled: true, threshold: 2, quantization: { clip: 1, bits: 16 } }, models: [{ name: 'c', family: 'logistic', inputs: { columns: ['age'] } }] });
    expect(sa.error?.issues.find((i) => i.path.join('.') === 'models.0.family')?.message).toMatch(/secure aggregation of tabular sums is not available yet/);
    const bad = study([{ name: 'ddfn', architecture: 'ddfn', selection: { icc_min: 0.8 } }]);
    expect(bad.error!.issues[0]).toMatchObject({ path: ['models', 0, 'selection'] });
    expect(study([{ name: 'c', family: 'logistic' }]).error!.issues[0]).toMatchObject({ path: ['models', 0, 'inputs'] });
    const cyc = study([{ name: 'a', family: 'logistic', inputs: { scores: ['b'] } }, { name: 'b', family: 'logistic', inputs: { scores: ['a'] } }]);
    expect(() => fitOrder(cyc.data!.models)).toThrow(/circular score inputs a -> b -> a/);
    expect(() => fitOrder(study([{ name: 'a', family: 'logistic', inputs: { scores: ['zz'] } }]).data!.models)).toThrow(/"a"\)\.inputs\.scores: no model "zz"/);
    expect(() => getFamily('lasso_logistic').validate({ name: 'r', architecture: 'lasso_logistic', config: { inputs: { columns: ['a'] }, selection: { lasso: { rule: 'max' } } } }, 'study.models[2] ("r")'))
      .toThrow(/study\.models\[2\] \("r"\)\.selection\.lasso\.rule/);
  });
});

describe('fitModelsFromSums: deep features of an image model through the pooled PCA', () => {
  it('freezes the image model first, takes principal components of its penultimate features (prcomp), fits on them and scores at the site', async () => {
    const FEAT = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'];
    const sites = ['main_a', 'main_b', 'main_c'];
    // The "image model" cnn: its penultimate-layer features at a site are the fixture's f1..f8.
    const withFeatures = (name: string): SiteData => {
      const d = siteData(name);
      return {
        ...d,
        async modelFeatures(ref, cohorts) {
          expect(ref.model).toBe('cnn');
          const out = new Map<string, Float32Array>();
          for (const c of cohorts) {
            const t = (await d.table!({ model: 'x', inputs: {} })).forEvaluation(c);
            t.caseIds.forEach((id, i) => out.set(id, Float32Array.from(FEAT, (f) => t.columns.get(f)![i]!)));
          }
          return out;
        },
      };
    };
    const datas = new Map(sites.map((s) => [s, withFeatures(s)]));
    const bound = new Map<string, Awaited<ReturnType<ReturnType<typeof getFamily>['openSite']>>>();
    const transportFor = (_round: number, model: string, ss: readonly string[]): PhaseTransport => ({
      sites: ss,
      async exchange(phase, requests) {
        const answers = new Map<string, Uint8Array>();
        const failures: { site: string; reason: string }[] = [];
        for (const [site, bytes] of requests) {
          const p = JSON.parse(new TextDecoder().decode(bytes));
          const key = `${site}:${model}`;
          if (!bound.has(key)) bound.set(key, await getFamily(p.spec.family).openSite({ name: model, architecture: p.spec.architecture, config: p.spec.config }, datas.get(site)!));
          try {
            answers.set(site, new TextEncoder().encode(JSON.stringify(await bound.get(key)!.sums!({ dependencies: p.dependencies, deep: p.deep, request: p.request }))));
          } catch (err) {
            failures.push({ site, reason: `${phase}: refused: ${(err as Error).message}` });
          }
        }
        return { answers, failures };
      },
    });
    const cnnSet = { infos: [{ name: 'head.hidden/kernel', shape: [4, 8], dtype: 'float32' as const }, { name: 'head.out/kernel', shape: [8, 1], dtype: 'float32' as const }, { name: 'head.out/bias', shape: [1], dtype: 'float32' as const }], data: new Float32Array(41) };
    const stored = new Map<string, { version: number; digest: string; set: typeof cnnSet }>([['cnn', { version: 2, digest: 'c'.repeat(64), set: cnnSet }]]);
    const records: Record<string, unknown>[] = [];
    const file = { study: studySchema.parse({
      id: 's', rounds: 2, min_sites: 3, sites, models: [
        { name: 'cnn', architecture: 'ddfn', config: {} },
        { name: 'deep', family: 'logistic', inputs: { columns: ['age'], deep_features: { model: 'cnn', components: 3 } } },
      ],
    }), coordinator: { data_dir: '/nonexistent' } } as unknown as Parameters<typeof fitModelsFromSums>[0]['file'];
    const host = {
      file, modelConfigs: { cnn: { architecture: 'ddfn', config: {} } }, transportFor,
      sites: { connectedSites: () => sites },
      events: { publish: () => undefined },
      recorder: { append: async (r: Record<string, unknown>) => { records.push(r); return { seq: records.length, hash: 'h' }; } },
      store: {
        get: (m: string) => stored.get(m)!,
        version: async (m: string) => stored.get(m)!,
        put: async (m: string, version: number, set: typeof cnnSet) => { const g = { version, digest: String(m.length).repeat(64), set }; stored.set(m, g); return g; },
      },
    } as unknown as Parameters<typeof fitModelsFromSums>[0];
    const rounds = [1, 2].map((round) => ({ round, state: 'completed', participants: sites, dropped: {}, started: 0, ended: 0, models: { cnn: { metrics: {} } } })) as unknown as Parameters<typeof fitModelsFromSums>[1];
    const out = await fitModelsFromSums(host, rounds, log);
    const f = out.deep!;
    const pca = f.pca as { variances: number[]; features: number; components: number };
    expect(pca.features).toBe(8);
    pca.variances.forEach((v, k) => expect(Math.abs(v - ref.main.pca_cov_n1_eigen[k]) / ref.main.pca_cov_n1_eigen[k]).toBeLessThan(1e-5));
    expect(f.terms.map((t) => t.term)).toEqual(['(Intercept)', 'age', 'cnn.pc1', 'cnn.pc2', 'cnn.pc3']);
    // The log: cnn frozen (as an input) before the fitted model is recorded.
    expect(records.map((r) => r.stage)).toEqual(['score_inputs', 'fitted_from_sums']);
    expect((records[0]!.models as { model: string; version: number }[])[0]).toMatchObject({ model: 'cnn', version: 2 });
    // The stored model carries the components and scores a site's validation cases with them.
    const m = decodeTabularModel(stored.get('deep')!.set);
    expect(m.pca![0]!.names).toEqual(['cnn.pc1', 'cnn.pc2', 'cnn.pc3']);
    expect(m.dependencies.map((d) => d.model)).toEqual(['cnn']);
    const site = await getFamily('logistic').openSite({ name: 'deep', architecture: 'logistic', config: file.study.models[1]!.config }, datas.get('main_a')!);
    const scored = await site.score(stored.get('deep')!.set, ['validation']);
    expect(scored.length).toBe(7);
    const t = (await datas.get('main_a')!.table!({ model: 'x', inputs: {} })).forEvaluation('validation');
    const x = FEAT.map((fe) => Math.fround(t.columns.get(fe)![0]!));
    const pcs = m.pca![0]!.loadings.map((w) => w.reduce((a, wk, k) => a + wk * (x[k]! - m.pca![0]!.center[k]!), 0));
    const eta = m.intercept! + m.coef![0]! * 999 + pcs.reduce((a, v, c) => a + m.coef![c + 1]! * v, 0);
    expect(scored[0]!.score).toBeCloseTo(1 / (1 + Math.exp(-eta)), 12);
  });
});
