import { describe, expect, it } from 'vitest';
import { parseStudyReport, statisticsPanelSchema } from './schema.js';

const minimal = {
  study: { id: 's', title: null, config_digest: 'a'.repeat(64) },
  state: 'completed', reason: null, started_at: '2026-01-01T00:00:00.000Z', ended_at: '2026-01-01T00:01:00.000Z', duration_s: 60,
  strategy: 'fedavg', sites: [{ site: 'a', backend: 'wasm', cohorts: { train: 10 } }],
  rounds: [{ round: 1, state: 'completed', participants: ['a'], dropped: {}, duration_s: 3, models: { m: { sites: ['a'], num_examples: 10, metrics: { val_auc: null }, global_digest_before: 'x', global_digest: 'y', strategy_metrics: {}, rejected: [] } } }],
  final_models: { m: { version: 1, digest: 'y', checkpoint: '/c' } },
};

describe('report.json contract', () => {
  it('accepts a report with keys a newer coordinator added, and keeps them', () => {
    const r = parseStudyReport({ ...minimal, future_section: { rows: [] } });
    expect(r.rounds[0]!.models.m!.num_examples).toBe(10);
    expect((r as Record<string, unknown>).future_section).toEqual({ rows: [] });
  });
  it('table1: the pooled table, or a reason; a row without its cells does not fit', () => {
    const row = { variable: 'age', statistic: 'mean (SD)', cells: { train: { text: '54.1 (9.8)' }, test: { text: null, reason: 'suppressed' } } };
    const t1 = { cohorts: ['train', 'test'], n: { train: 100, test: null }, rows: [row], tests: { age: { test: "Welch's t", statistic: 1.2, p: 0.23 } }, by_site: { a: { n: { train: 100 }, rows: [row] } }, notes: [], sites_answered: ['a'], sites_missing: {} };
    expect(parseStudyReport({ ...minimal, table1: t1 }).table1).toEqual(t1);
    expect(parseStudyReport({ ...minimal, table1: { reason: 'no site answered', sites_missing: { a: 'refused' } } }).table1).toMatchObject({ reason: 'no site answered' });
    expect(() => parseStudyReport({ ...minimal, table1: { ...t1, rows: [{ variable: 'age', statistic: 'mean (SD)' }] } })).toThrow(/field "table1/);
  });
  it('levels: one section per level of a hierarchical endpoint, with cohorts of the statistics shape', () => {
    const est = { estimate: 0.8, ci: [0.7, 0.9] as [number, number] };
    const model = { auc: est, threshold: 0.4, sensitivity: est, specificity: est, ppv: est, npv: est, accuracy: est };
    const level = {
      level: 2, name: 'low_vs_high', title: 'N1-2 vs N>=3 among N+', endpoint: { outcome: 'n_positive_nodes >= 3', population: 'the positives of level 1' },
      models: ['r', 'c'], thresholds: { r: 0.4, c: 0.5 }, reference_model: 'r',
      cohorts: { internal_test: { n: 40, positives: 12, models: { r: model, c: model }, comparisons: [{ a: 'r', b: 'c', auc_difference: 0.01, delong: { z: 0.3, p: 0.76 } }], subgroups: {} } },
      subgroup_analyses: { ki67_high: { definition: 'ki67 >= 14', missing: 1, interaction: { internal_test: { r: { difference: 0.1, z: 1, p: 0.3, ci: [-0.1, 0.3], method: 'DeLong, independent samples' } } } } },
    };
    expect(parseStudyReport({ ...minimal, levels: [level] }).levels![0]!.cohorts.internal_test!.n).toBe(40);
    expect(parseStudyReport(minimal).levels).toBeUndefined();
    expect(() => parseStudyReport({ ...minimal, levels: [{ ...level, endpoint: { outcome: 'x' } }] })).toThrow(/field "levels\.0\.endpoint\.population"/);
    expect(() => parseStudyReport({ ...minimal, levels: [{ ...level, cohorts: { internal_test: { n: 40, models: {} } } }] })).toThrow(/field "levels\.0\.cohorts\.internal_test\.positives"/);
  });
  it('names the field that does not fit', () => {
    expect(() => parseStudyReport({ ...minimal, state: 'exploded' })).toThrow(/report\.json: field "state"/);
    expect(() => parseStudyReport({ ...minimal, rounds: [{ ...minimal.rounds[0], participants: 'a' }] })).toThrow(/field "rounds\.0\.participants"/);
  });
  it('a statistics panel needs every figure a table row shows', () => {
    const est = { estimate: 0.8, ci: [0.7, 0.9] };
    const model = { auc: est, threshold: 0.5, sensitivity: est, specificity: est, ppv: est, npv: est, accuracy: est };
    expect(statisticsPanelSchema.safeParse({ cohorts: { t: { n: 10, positives: 4, models: { m: model } } } }).success).toBe(true);
    const { npv: _npv, ...noNpv } = model;
    expect(statisticsPanelSchema.safeParse({ cohorts: { t: { n: 10, positives: 4, models: { m: noNpv } } } }).success).toBe(false);
  });
});
