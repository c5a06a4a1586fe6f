// Prometheus metrics of a running study (prom-client, its own registry so two coordinators in one
// process never share counters). Counters follow the EventBus; gauges are read from the
// coordinator's state at scrape time. Every metric is named fl_...; label values are bounded
// (sites and models come from the study config; refusal reasons are mapped to a fixed set).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventBus } from '../../shared/events/events.js';

/** Fixed refusal categories, so a site cannot grow the label set with free text. */
export const REFUSAL_REASONS = [
  'wrong_study', 'wrong_site', 'unknown_model', 'no_open_round', 'stale_round', 'not_participant', 'dropped',
  'stale_model_version', 'duplicate', 'malformed', 'spec_mismatch', 'non_finite', 'integrity', 'outlier', 'other',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

const RULES: [RegExp, RefusalReason][] = [
  [/update for study|for study ".*", this is/, 'wrong_study'],
  [/claims to come from site/, 'wrong_site'],
  [/unknown model/, 'unknown_model'],
  [/no round is open|round \d+ closed/, 'no_open_round'],
  [/stale or early/, 'stale_round'],
  [/not a participant/, 'not_participant'],
  [/dropped from round/, 'dropped'],
  [/computed from version/, 'stale_model_version'],
  [/already sent an update/, 'duplicate'],
  [/non-finite/, 'non_finite'],
  [/does not match the model spec|total_bytes .* does not match/, 'spec_mismatch'],
  [/digest mismatch|SHA-256 check|signature/i, 'integrity'],
  [/left out of the aggregate/, 'outlier'],
  [/update_id|num_examples|digest must be|chunk at offset|more data than|upload ended|header|unexpected/, 'malformed'],
];

export function refusalReason(message: string): RefusalReason {
  for (const [re, reason] of RULES) if (re.test(message)) return reason;
  return 'other';
}

export interface MetricsSource {
  readonly events: EventBus;
  /** Listed sites (study.sites), or the sites seen so far when the study lists none. */
  expectedSites(): readonly string[];
  connectedSites(): readonly string[];
  currentRound(): number;
  /** Bytes of one model's parameters (an accepted update carries exactly that many payload bytes). */
  modelBytes(model: string): number;
  /** Entries of the study log (0 when the study has no log of its own). */
  logSize(): number;
}

export interface StudyMetrics {
  readonly registry: Registry;
  close(): void;
}

export function createStudyMetrics(study: string, src: MetricsSource, opts: { processMetrics?: boolean } = {}): StudyMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ study });
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'fl_process_' });

  const rounds = new Counter({ name: 'fl_rounds_total', help: 'Rounds finished, by final state', labelNames: ['state'], registers: [registry] });
  const accepted = new Counter({ name: 'fl_updates_accepted_total', help: 'Model updates accepted', labelNames: ['site', 'model'], registers: [registry] });
  const refused = new Counter({ name: 'fl_updates_refused_total', help: 'Model updates refused or left out of the aggregate, by reason', labelNames: ['reason', 'site'], registers: [registry] });
  const dropped = new Counter({ name: 'fl_sites_dropped_total', help: 'Sites left out of a round (disconnect or deadline)', labelNames: ['site'], registers: [registry] });
  const bytes = new Counter({ name: 'fl_bytes_transferred_total', help: 'Model payload bytes: download = global models sent to sites, upload = accepted updates received', labelNames: ['direction'], registers: [registry] });
  const examples = new Counter({ name: 'fl_training_examples_total', help: 'Training examples behind accepted updates', labelNames: ['model'], registers: [registry] });
  const duration = new Histogram({
    name: 'fl_round_duration_seconds', help: 'Wall time of a round from task dispatch to aggregation',
    labelNames: ['state'], buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200], registers: [registry],
  });
  const cosigned = new Gauge({ name: 'fl_cosignature_ok', help: '1 when the site co-signed the study log at its last request, 0 when it refused', labelNames: ['site'], registers: [registry] });
  const cosignedSize = new Gauge({ name: 'fl_cosigned_tree_size', help: 'Study log size the site last co-signed', labelNames: ['site'], registers: [registry] });
  const refusedCosign = new Counter({ name: 'fl_cosignatures_refused_total', help: 'Co-signing requests a site refused', labelNames: ['site'], registers: [registry] });
  const studyEnded = new Gauge({ name: 'fl_study_ended', help: '1 once the study ended, by state (completed, failed)', labelNames: ['state'], registers: [registry] });
  new Gauge({
    name: 'fl_sites_connected', help: 'Sites with an open session', registers: [registry],
    collect() { this.set(src.connectedSites().length); },
  });
  new Gauge({
    name: 'fl_sites_expected', help: 'Sites listed in the study', registers: [registry],
    collect() { this.set(src.expectedSites().length); },
  });
  new Gauge({
    name: 'fl_site_connected', help: '1 while the site has an open session', labelNames: ['site'], registers: [registry],
    collect() {
      const on = new Set(src.connectedSites());
      for (const s of new Set([...src.expectedSites(), ...on])) this.set({ site: s }, on.has(s) ? 1 : 0);
    },
  });
  new Gauge({ name: 'fl_round_current', help: 'Round in progress (or the last finished)', registers: [registry], collect() { this.set(src.currentRound()); } });
  new Gauge({ name: 'fl_audit_log_entries', help: 'Entries in the study log', registers: [registry], collect() { this.set(src.logSize()); } });

  for (const s of ['completed', 'completed_without_some_sites', 'failed']) rounds.inc({ state: s }, 0);
  bytes.inc({ direction: 'download' }, 0);
  bytes.inc({ direction: 'upload' }, 0);
  let roundStart = 0;
  const unsubscribe = src.events.subscribe((e) => {
    switch (e.type) {
      case 'round_started':
        roundStart = e.time;
        break;
      case 'round_completed':
        rounds.inc({ state: e.state });
        if (roundStart) duration.observe({ state: e.state }, (e.time - roundStart) / 1000);
        break;
      case 'round_failed':
        rounds.inc({ state: 'failed' });
        if (roundStart) duration.observe({ state: 'failed' }, (e.time - roundStart) / 1000);
        break;
      case 'update_accepted':
        accepted.inc({ site: e.site, model: e.model });
        examples.inc({ model: e.model }, e.numExamples);
        bytes.inc({ direction: 'upload' }, src.modelBytes(e.model));
        break;
      case 'update_rejected':
        refused.inc({ reason: refusalReason(e.reason), site: e.site || 'unknown' });
        break;
      case 'site_dropped':
        dropped.inc({ site: e.site });
        break;
      case 'transfer':
        bytes.inc({ direction: e.direction }, e.bytes);
        break;
      case 'cosignature':
        cosigned.set({ site: e.site }, e.ok ? 1 : 0);
        if (e.ok && e.treeSize !== undefined) cosignedSize.set({ site: e.site }, e.treeSize);
        if (!e.ok) refusedCosign.inc({ site: e.site });
        break;
      case 'study_completed':
        studyEnded.set({ state: 'completed' }, 1);
        break;
      case 'study_failed':
        studyEnded.set({ state: 'failed' }, 1);
        break;
      default:
        break;
    }
  });
  return { registry, close: unsubscribe };
}
