// Evaluation tasks: the coordinator asks sites to score cohorts with given model versions and
// collects their pseudonymised predictions (SubmitEvaluation), checking who sent them, that they
// answer an open task, that every score is a probability and that the digest matches.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  buildEvaluateTask, type Ack, type ClientStreamCall, type FrozenModel, type ModelConfigs, type ReceivedEvaluationReport, type Respond,
} from '../shared/protocol/index.js';
import { predictionsDigest, type PredictionRecord } from '../shared/evaluation/predictions.js';
import type { AggregateEvaluation } from '../shared/evaluation/aggregate.js';
import { createHash } from 'node:crypto';
import type { Gatekeeper } from './gatekeeper.js';
import type { SiteRegistry } from './site-registry.js';
import { RejectError } from './errors.js';
import { isRefusal, toStatus } from './grpc-status.js';

export interface SiteEvaluation {
  readonly site: string;
  readonly digest: string;
  readonly predictions: PredictionRecord[];
  /** privacy: aggregate — counts only (then `predictions` is empty). */
  readonly aggregate?: AggregateEvaluation;
}

interface Pending {
  readonly taskId: string;
  readonly sites: Set<string>;
  readonly models: Set<string>;
  readonly cohorts: Set<string>;
  readonly results: Map<string, SiteEvaluation>;
  readonly failures: Map<string, string>;
  done: () => void;
}

const MAX_ROWS = 1_000_000;

export class EvaluationCollector {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly studyId: string,
    private readonly sites: SiteRegistry,
    private readonly gate: Gatekeeper,
    private readonly log: Logger,
  ) {
    sites.onChange((site, connected) => {
      if (connected) return;
      for (const p of this.pending.values()) {
        if (p.sites.has(site) && !p.results.has(site)) {
          p.failures.set(site, 'disconnected before submitting');
          this.check(p);
        }
      }
    });
  }

  /** Marks a task failed at a site (its TaskStatus said so). */
  siteFailed(taskId: string, site: string, message: string): void {
    const p = this.pending.get(taskId);
    if (p && p.sites.has(site) && !p.results.has(site)) {
      p.failures.set(site, message);
      this.check(p);
    }
  }

  private check(p: Pending): void {
    if ([...p.sites].every((s) => p.results.has(s) || p.failures.has(s))) p.done();
  }

  /**
   * Sends an evaluate task to `sites` and waits (up to `deadlineMs`) for every answer.
   * Returns the results and, per site, why it did not answer.
   */
  async request(a: {
    sites: readonly string[];
    models: readonly FrozenModel[];
    cohorts: readonly string[];
    heldOut: boolean;
    modelConfigs: ModelConfigs;
    round: number;
    deadlineMs: number;
    privacy?: 'predictions' | 'aggregate';
  }): Promise<{ taskId: string; results: Map<string, SiteEvaluation>; failures: Map<string, string> }> {
    const taskId = `eval-${randomUUID()}`;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const p: Pending = {
      taskId, sites: new Set(a.sites), models: new Set(a.models.map((m) => m.ref.model)), cohorts: new Set(a.cohorts),
      results: new Map(), failures: new Map(), done,
    };
    this.pending.set(taskId, p);
    const deadline = Date.now() + a.deadlineMs;
    const task = buildEvaluateTask({
      taskId, studyId: this.studyId, round: a.round, deadlineUnixMs: deadline,
      models: a.models, cohorts: a.cohorts, privacy: a.privacy, modelConfigs: a.modelConfigs, heldOut: a.heldOut,
    });
    for (const site of a.sites) {
      if (!this.sites.send(site, task)) p.failures.set(site, 'not connected');
    }
    this.check(p);
    const timer = setTimeout(() => {
      for (const s of p.sites) if (!p.results.has(s) && !p.failures.has(s)) p.failures.set(s, `no answer within ${Math.round(a.deadlineMs / 1000)} s`);
      done();
    }, a.deadlineMs);
    await finished;
    clearTimeout(timer);
    this.pending.delete(taskId);
    return { taskId, results: p.results, failures: p.failures };
  }

  /** Handler of SubmitEvaluation (a client stream of prediction batches). */
  readonly submit = (call: ClientStreamCall<ReceivedEvaluationReport>, respond: Respond<Ack>): void => {
    const state = { site: '' };
    this.receive(call, state).then(
      (ack) => respond(null, ack),
      (err) => {
        // A refusal (wrong task, a site claiming another site's id, a malformed batch) is answered
        // with its own code and message; only an unexpected failure is INTERNAL (and logged in full).
        if (isRefusal(err)) this.log.warn({ site: state.site || undefined, reason: err.message }, 'evaluation refused');
        respond(toStatus(err, this.log));
      },
    );
  };

  private async receive(call: ClientStreamCall<ReceivedEvaluationReport>, state: { site: string }): Promise<Ack> {
    const rows: PredictionRecord[] = [];
    let maxRows = MAX_ROWS;
    let head: ReceivedEvaluationReport | null = null;
    let aggregateJson = '';
    let aggregate: AggregateEvaluation | null = null;
    const it = call[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<ReceivedEvaluationReport>;
      try {
        next = await it.next();
      } catch (err) {
        if (isRefusal(err)) throw err;
        throw new RejectError(grpc.status.CANCELLED, `site "${state.site}": submission stream broke`);
      }
      if (next.done) break;
      const msg = next.value;
      if (!head) {
        state.site = this.gate.site(call, msg.siteId, 'SubmitEvaluation').name;
        const site = state.site;
        if (msg.studyId !== this.studyId) throw new RejectError(grpc.status.FAILED_PRECONDITION, `site "${site}": evaluation for study "${msg.studyId}"`);
        const p = this.pending.get(msg.taskId);
        if (!p || !p.sites.has(site)) throw new RejectError(grpc.status.FAILED_PRECONDITION, `site "${site}": no open evaluation task "${msg.taskId}" for this site`);
        if (p.results.has(site)) throw new RejectError(grpc.status.ALREADY_EXISTS, `site "${site}": already submitted task "${msg.taskId}"`);
        head = msg;
        // Memory bound: no more rows than the cases the site declared in the requested cohorts.
        const counts = this.sites.all().find((x) => x.site === site)?.cohortCounts ?? {};
        const declared = [...p.cohorts].reduce((n, c) => n + (counts[c] ?? 0), 0);
        maxRows = declared > 0 ? declared : MAX_ROWS;
      } else if (msg.taskId !== head.taskId || msg.siteId !== head.siteId || msg.digest !== head.digest) {
        throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${state.site}": batches of one submission must share task, site and digest`);
      }
      const site = state.site;
      const p = this.pending.get(head.taskId)!;
      if (msg.aggregateJson) {
        if (aggregateJson) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": aggregate results sent twice`);
        aggregateJson = msg.aggregateJson;
        aggregate = msg.aggregate;
      }
      for (const r of msg.predictions) {
        if (!/^[0-9a-f]{64}$/.test(r.caseKey)) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": case_key must be a 64-hex pseudonym`);
        if (!p.cohorts.has(r.cohort)) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": prediction for cohort "${r.cohort}" that was not requested`);
        if (r.label !== 0 && r.label !== 1) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": label must be 0 or 1`);
        for (const [m, v] of Object.entries(r.scores)) {
          if (!p.models.has(m)) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": score for model "${m}" that was not requested`);
          if (!(v >= 0 && v <= 1)) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": score ${v} for model "${m}" is not a probability`);
        }
        if (rows.length >= maxRows) throw new RejectError(grpc.status.RESOURCE_EXHAUSTED, `site "${site}": more predictions than the ${maxRows} case(s) it declared in cohorts ${[...p.cohorts].join(', ')}`);
        rows.push({ caseKey: r.caseKey, cohort: r.cohort, label: r.label, scores: { ...r.scores } });
      }
    }
    if (!head) throw new RejectError(grpc.status.INVALID_ARGUMENT, 'empty evaluation submission');
    const site = state.site;
    const digest = aggregateJson ? createHash('sha256').update(aggregateJson).digest('hex') : predictionsDigest(rows);
    if (digest !== head.digest) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": evaluation digest mismatch`);
    const p = this.pending.get(head.taskId);
    if (!p) throw new RejectError(grpc.status.FAILED_PRECONDITION, `site "${site}": evaluation task "${head.taskId}" closed`);
    if (aggregate) {
      if (rows.length > 0) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": aggregate results must come without per-case predictions`);
      for (const [cohort, models] of Object.entries(aggregate.cohorts)) {
        if (!p.cohorts.has(cohort)) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": aggregate for cohort "${cohort}" that was not requested`);
        for (const m of Object.keys(models)) if (!p.models.has(m)) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": aggregate for model "${m}" that was not requested`);
      }
    }
    p.results.set(site, { site, digest, predictions: rows, ...(aggregate ? { aggregate } : {}) });
    this.check(p);
    return { ok: true, message: `received ${rows.length} predictions` };
  }
}
