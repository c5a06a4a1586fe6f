// /metrics content from study events, read back with an independent Prometheus text-format parser.
import { describe, expect, it } from 'vitest';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { EventBus } from '../../shared/events/events.js';
import { createStudyMetrics, refusalReason, REFUSAL_REASONS } from './metrics.js';

function value(fams: PromFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const f = fams.find((x) => x.name === name);
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

describe('study metrics', () => {
  it('counts rounds, updates, refusals, bytes, co-signatures and sites from the event bus', async () => {
    const events = new EventBus();
    let connected = ['a'];
    const m = createStudyMetrics('s1', {
      events, expectedSites: () => ['a', 'b'], connectedSites: () => connected, currentRound: () => 2,
      modelBytes: (model) => (model === 'ddfn' ? 400 : 0), logSize: () => 17,
    }, { processMetrics: false });
    events.publish({ type: 'round_started', round: 1, participants: ['a', 'b'], deadline: 0 });
    events.publish({ type: 'update_accepted', round: 1, model: 'ddfn', site: 'a', numExamples: 30, digest: 'x', metrics: {} });
    events.publish({ type: 'update_accepted', round: 1, model: 'ddfn', site: 'b', numExamples: 12, digest: 'y', metrics: {} });
    events.publish({ type: 'update_rejected', round: 1, model: 'ddfn', site: 'b', reason: 'site "b": non-finite value at element 3' });
    events.publish({ type: 'update_rejected', round: 1, model: 'ddfn', site: 'b', reason: 'site "b": update for round 0 is stale or early; round 1 is open' });
    events.publish({ type: 'transfer', direction: 'download', site: 'a', model: 'ddfn', bytes: 400 });
    events.publish({ type: 'round_completed', round: 1, state: 'completed', sites: ['a', 'b'], metrics: {}, digests: {} });
    events.publish({ type: 'cosignature', site: 'a', ok: true, treeSize: 9 });
    events.publish({ type: 'cosignature', site: 'b', ok: false, reason: 'signed with a different key' });
    events.publish({ type: 'site_dropped', round: 2, site: 'b', reason: 'missed the round deadline' });
    events.publish({ type: 'round_failed', round: 2, reason: 'quorum' });
    const text = await m.registry.metrics();
    const fams = parsePrometheusTextFormat(text);
    for (const f of fams) expect(f.name).toMatch(/^fl_/);
    expect(value(fams, 'fl_rounds_total', { state: 'completed' })).toBe(1);
    expect(value(fams, 'fl_rounds_total', { state: 'failed' })).toBe(1);
    expect(value(fams, 'fl_rounds_total', { state: 'completed_without_some_sites' })).toBe(0);
    expect(value(fams, 'fl_updates_accepted_total', { site: 'a', model: 'ddfn', study: 's1' })).toBe(1);
    expect(value(fams, 'fl_training_examples_total', { model: 'ddfn' })).toBe(42);
    expect(value(fams, 'fl_updates_refused_total', { reason: 'non_finite', site: 'b' })).toBe(1);
    expect(value(fams, 'fl_updates_refused_total', { reason: 'stale_round', site: 'b' })).toBe(1);
    expect(value(fams, 'fl_bytes_transferred_total', { direction: 'upload' })).toBe(800);
    expect(value(fams, 'fl_bytes_transferred_total', { direction: 'download' })).toBe(400);
    expect(value(fams, 'fl_cosignature_ok', { site: 'a' })).toBe(1);
    expect(value(fams, 'fl_cosignature_ok', { site: 'b' })).toBe(0);
    expect(value(fams, 'fl_cosigned_tree_size', { site: 'a' })).toBe(9);
    expect(value(fams, 'fl_cosignatures_refused_total', { site: 'b' })).toBe(1);
    expect(value(fams, 'fl_sites_dropped_total', { site: 'b' })).toBe(1);
    expect(value(fams, 'fl_sites_connected')).toBe(1);
    expect(value(fams, 'fl_sites_expected')).toBe(2);
    expect(value(fams, 'fl_site_connected', { site: 'b' })).toBe(0);
    expect(value(fams, 'fl_round_current')).toBe(2);
    expect(value(fams, 'fl_audit_log_entries')).toBe(17);
    // The parser merges labelled histogram series, so the histogram is checked through prom-client's
    // own JSON view: one failed and one completed round observed.
    expect(fams.find((f) => f.name === 'fl_round_duration_seconds')!.type).toBe('HISTOGRAM');
    const hist = (await m.registry.getMetricsAsJSON()).find((x) => x.name === 'fl_round_duration_seconds')!;
    const counts = (hist.values as { metricName?: string; value: number; labels: Record<string, unknown> }[]).filter((v) => v.metricName === 'fl_round_duration_seconds_count');
    expect(Object.fromEntries(counts.map((v) => [v.labels.state, v.value]))).toEqual({ completed: 1, failed: 1 });
    // Gauges are read at scrape time.
    connected = ['a', 'b'];
    expect(value(parsePrometheusTextFormat(await m.registry.metrics()), 'fl_sites_connected')).toBe(2);
    m.close();
  });

  it('maps free-text refusal reasons onto a fixed label set', () => {
    const cases: [string, string][] = [
      ['site "x": update claims to come from site "y"', 'wrong_site'],
      ['site "x": update computed from version 1 of "m", current version is 2', 'stale_model_version'],
      ['site "x": already sent an update for model "m" in round 3 (one update per site per round)', 'duplicate'],
      ['site "x": digest mismatch (announced a, content b)', 'integrity'],
      ['site "x": update does not match the model spec: w shape', 'spec_mismatch'],
      ['update u1 left out of the aggregate: norm 9.1 > 3 x median', 'outlier'],
      ['site "x": update_id must be 8-80 characters [A-Za-z0-9._-]', 'malformed'],
      ['something nobody anticipated', 'other'],
    ];
    for (const [msg, reason] of cases) expect(refusalReason(msg), msg).toBe(reason);
    for (const [, reason] of cases) expect(REFUSAL_REASONS).toContain(reason);
  });
});
