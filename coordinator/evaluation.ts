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
  /** Names of the subgroups the task declares (the only flags a prediction row may carry). */
  readonly subgroups: Set<string>;
  readonly results: Map<string, SiteEvaluation>;
  readonly failures: Map<string, string>;
  /** The task as sent: given again to a site that reconnects within the grace period. */
  readonly task: Parameters<SiteRegistry['send']>[1];
  /** Sites that are away, with the timer that gives up on them after the grace period. */
  readonly away: Map<string, NodeJS.Timeout>;
  /** Called with each result as it arrives (saved at once, so a restart asks only for the rest). */
  readonly onResult?: (r: SiteEvaluation) => Promise<void>;
  done: () => void;
}

/**
 * Most prediction rows one submission may hold, whatever the site declared (a site's own privacy
 * guard sends at most 200 000): with one submission stream per site at a time, the coordinator's
 * memory for submissions is bounded by sites x MAX_ROWS rows (each row is checked before it is kept).
 */
export const MAX_ROWS = 200_000;

export class EvaluationCollector {
  private readonly pending = new Map<string, Pending>();
  /** Digest of each site's result, per closed task (a study has a handful of evaluation tasks). */
  private readonly answered = new Map<string, Map<string, string>>();

  constructor(
    private readonly studyId: string,
    private readonly sites: SiteRegistry,
    private readonly gate: Gatekeeper,
    private readonly log: Logger,
    /** How long a site that is away may take to come back before it counts as not answering. */
    private readonly graceMs = 0,
    /** Rows a case may have: one per level of a hierarchical endpoint (each level's rows have their own pseudonym). */
    private readonly rowsPerCase = 1,
  ) {
    sites.onChange((site, connected, reason) => {
      for (const p of this.pending.values()) {
        if (!p.sites.has(site) || p.results.has(site) || p.failures.has(site)) continue;
        if (connected) {
          // Back within the grace period: the task again, at once (a replaced session never gets here).
          const t = p.away.get(site);
          if (t) {
            clearTimeout(t);
            p.away.delete(site);
            this.sites.send(site, p.task);
            this.log.info({ site, task: p.taskId }, 'site reconnected within the grace period; evaluation task sent again');
          }
        } else {
          this.away(p, site, `disconnected before submitting (${reason})`);
        }
      }
    });
  }

  /** Gives a site that is not connected the grace period to come back before it counts as failed. */
  private away(p: Pending, site: string, reason: string): void {
    if (p.away.has(site)) return;
    if (this.graceMs <= 0) {
      p.failures.set(site, reason);
      this.check(p);
      return;
    }
    p.away.set(site, setTimeout(() => {
      p.away.delete(site);
      if (p.results.has(site) || this.sites.isConnected(site)) return;
      p.failures.set(site, `${reason}; not back within ${Math.round(this.graceMs / 1000)} s`);
      this.check(p);
    }, this.graceMs));
  }

  /** Ends every pending request with `err` (the study was stopped). */
  stop(err: Error): void {
    for (const p of this.pending.values()) {
      (p as { stoppedBy?: Error }).stoppedBy = err;
      p.done();
    }
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
    /** The study's subgroups (name, manifest column, condition text); sites flag each prediction row. */
    subgroups?: readonly { name: string; column: string; when: string }[];
    onResult?: (r: SiteEvaluation) => Promise<void>;
  }): Promise<{ taskId: string; results: Map<string, SiteEvaluation>; failures: Map<string, string> }> {
    const taskId = `eval-${randomUUID()}`;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const deadline = Date.now() + a.deadlineMs;
    const task = buildEvaluateTask({
      taskId, studyId: this.studyId, round: a.round, deadlineUnixMs: deadline,
      models: a.models, cohorts: a.cohorts, privacy: a.privacy, modelConfigs: a.modelConfigs, heldOut: a.heldOut, subgroups: a.subgroups,
    });
    const p: Pending = {
      taskId, sites: new Set(a.sites), models: new Set(a.models.map((m) => m.ref.model)), cohorts: new Set(a.cohorts),
      subgroups: new Set((a.subgroups ?? []).map((s) => s.name)), results: new Map(), failures: new Map(), task, away: new Map(), ...(a.onResult ? { onResult: a.onResult } : {}), done,
    };
    this.pending.set(taskId, p);
    for (const site of a.sites) {
      if (!this.sites.send(site, task)) this.away(p, site, 'not connected');
    }
    this.check(p);
    const timer = setTimeout(() => {
      for (const s of p.sites) if (!p.results.has(s) && !p.failures.has(s)) p.failures.set(s, `no answer within ${Math.round(a.deadlineMs / 1000)} s`);
      done();
    }, a.deadlineMs);
    await finished;
    clearTimeout(timer);
    for (const t of p.away.values()) clearTimeout(t);
    const stopped = (p as { stoppedBy?: Error }).stoppedBy;
    if (stopped) {
      this.pending.delete(taskId);
      throw stopped;
    }
    this.pending.delete(taskId);
    this.answered.set(taskId, new Map([...p.results].map(([site, r]) => [site, r.digest])));
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
    let limit = `the limit of ${MAX_ROWS} rows per submission`;
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
        // The same result again (the site retried after the answer to its submission was lost in a
        // cut): answered as received, nothing stored twice. A different result is still refused.
        const earlier = p ? p.results.get(site)?.digest : this.answered.get(msg.taskId)?.get(site);
        if (earlier !== undefined && earlier === msg.digest) return { ok: true, message: 'already received' };
        if (!p || !p.sites.has(site)) throw new RejectError(grpc.status.FAILED_PRECONDITION, `site "${site}": no open evaluation task "${msg.taskId}" for this site`);
        if (p.results.has(site)) throw new RejectError(grpc.status.ALREADY_EXISTS, `site "${site}": already submitted task "${msg.taskId}"`);
        head = msg;
        // Memory bound: no more rows than the cases the site declared in the requested cohorts.
        const counts = this.sites.all().find((x) => x.site === site)?.cohortCounts ?? {};
        const declared = [...p.cohorts].reduce((n, c) => n + (counts[c] ?? 0), 0);
        // A declared count is the site's word: it lowers the bound, never raises it above MAX_ROWS
        // (one row per case and endpoint level).
        maxRows = declared > 0 ? Math.min(declared * this.rowsPerCase, MAX_ROWS) : MAX_ROWS;
        if (declared > 0 && declared * this.rowsPerCase <= MAX_ROWS) {
          limit = this.rowsPerCase === 1
            ? `the ${declared} case(s) it declared in cohorts ${[...p.cohorts].join(', ')}`
            : `the ${declared * this.rowsPerCase} row(s) its ${declared} declared case(s) allow (one per endpoint level) in cohorts ${[...p.cohorts].join(', ')}`;
        }
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
        const flags = Object.entries(r.subgroups ?? {});
        for (const [s, v] of flags) {
          if (!p.subgroups.has(s)) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": flag for subgroup "${s}" that the study does not declare`);
          if (typeof v !== 'boolean') throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": subgroup "${s}" flag is not true/false`);
        }
        if (rows.length >= maxRows) throw new RejectError(grpc.status.RESOURCE_EXHAUSTED, `site "${site}": more predictions than ${limit}`);
        rows.push({ caseKey: r.caseKey, cohort: r.cohort, label: r.label, scores: { ...r.scores }, ...(flags.length ? { subgroups: Object.fromEntries(flags) } : {}) });
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
    const result: SiteEvaluation = { site, digest, predictions: rows, ...(aggregate ? { aggregate } : {}) };
    // Saved (durably) before it is acknowledged, so a restart does not ask this site again.
    await p.onResult?.(result);
    p.results.set(site, result);
    this.check(p);
    return { ok: true, message: `received ${rows.length} predictions` };
  }
}
