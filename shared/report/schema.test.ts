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
    const r = parseStudyReport({ ...minimal, table1: { rows: [] } });
    expect(r.rounds[0]!.models.m!.num_examples).toBe(10);
    expect(r.table1).toEqual({ rows: [] });
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
