// Evaluation tasks: the coordinator asks sites to score cohorts with given model versions and
// collects their pseudonymised predictions (SubmitEvaluation), checking who sent them, that they
// answer an open task, that every score is a probability and that the digest matches.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { predictionsDigest } from '../shared/evaluation/predictions.js';
import { aggregateSchema } from '../shared/evaluation/aggregate.js';
import { createHash } from 'node:crypto';
import { RejectError } from './errors.js';
export class EvaluationCollector {
    studyId;
    sites;
    gate;
    log;
    pending = new Map();
    constructor(studyId, sites, gate, log) {
        this.studyId = studyId;
        this.sites = sites;
        this.gate = gate;
        this.log = log;
        sites.onChange((site, connected) => {
            if (connected)
                return;
            for (const p of this.pending.values()) {
                if (p.sites.has(site) && !p.results.has(site)) {
                    p.failures.set(site, 'disconnected before submitting');
                    this.check(p);
                }
            }
        });
    }
    /** Marks a task failed at a site (its TaskStatus said so). */
    siteFailed(taskId, site, message) {
        const p = this.pending.get(taskId);
        if (p && p.sites.has(site) && !p.results.has(site)) {
            p.failures.set(site, message);
            this.check(p);
        }
    }
    check(p) {
        if ([...p.sites].every((s) => p.results.has(s) || p.failures.has(s)))
            p.done();
    }
    /**
     * Sends an evaluate task to `sites` and waits (up to `deadlineMs`) for every answer.
     * Returns the results and, per site, why it did not answer.
     */
    async request(a) {
        const taskId = `eval-${randomUUID()}`;
        let done;
        const finished = new Promise((r) => (done = r));
        const p = {
            taskId, sites: new Set(a.sites), models: new Set(a.models.map((m) => m.ref.model)), cohorts: new Set(a.cohorts),
            results: new Map(), failures: new Map(), done,
        };
        this.pending.set(taskId, p);
        const deadline = Date.now() + a.deadlineMs;
        for (const site of a.sites) {
            const sent = this.sites.send(site, {
                msg: {
                    $case: 'task',
                    value: {
                        taskId, studyId: this.studyId, round: a.round, deadlineUnixMs: deadline,
                        kind: { $case: 'evaluate', value: { models: [...a.models], cohorts: [...a.cohorts], privacy: a.privacy ?? 'predictions', modelConfigJson: a.modelConfigJson, heldOut: a.heldOut } },
                    },
                },
            });
            if (!sent)
                p.failures.set(site, 'not connected');
        }
        this.check(p);
        const timer = setTimeout(() => {
            for (const s of p.sites)
                if (!p.results.has(s) && !p.failures.has(s))
                    p.failures.set(s, `no answer within ${Math.round(a.deadlineMs / 1000)} s`);
            done();
        }, a.deadlineMs);
        await finished;
        clearTimeout(timer);
        this.pending.delete(taskId);
        return { taskId, results: p.results, failures: p.failures };
    }
    /** gRPC handler for SubmitEvaluation (a client stream of prediction batches). */
    submit = (call, callback) => {
        const rows = [];
        let head = null;
        let aggregateJson = '';
        let site = '';
        let failed = false;
        const fail = (err) => {
            if (failed)
                return;
            failed = true;
            const status = err instanceof RejectError ? { code: err.code, details: err.message } : { code: grpc.status.INTERNAL, details: 'internal error' };
            if (!(err instanceof RejectError))
                this.log.error({ err }, 'evaluation submission failed');
            else
                this.log.warn({ site, reason: err.message }, 'evaluation refused');
            callback(Object.assign(new Error(status.details), status), null);
            call.destroy();
        };
        call.on('data', (msg) => {
            if (failed)
                return;
            try {
                if (!head) {
                    site = this.gate.site(call, msg.siteId, 'SubmitEvaluation').name;
                    if (msg.studyId !== this.studyId)
                        throw new RejectError(grpc.status.FAILED_PRECONDITION, `site "${site}": evaluation for study "${msg.studyId}"`);
                    const p = this.pending.get(msg.taskId);
                    if (!p || !p.sites.has(site))
                        throw new RejectError(grpc.status.FAILED_PRECONDITION, `site "${site}": no open evaluation task "${msg.taskId}" for this site`);
                    if (p.results.has(site))
                        throw new RejectError(grpc.status.ALREADY_EXISTS, `site "${site}": already submitted task "${msg.taskId}"`);
                    head = msg;
                }
                else if (msg.taskId !== head.taskId || msg.siteId !== head.siteId || msg.digest !== head.digest) {
                    throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": batches of one submission must share task, site and digest`);
                }
                const p = this.pending.get(head.taskId);
                if (msg.aggregateJson) {
                    if (aggregateJson)
                        throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": aggregate results sent twice`);
                    if (msg.aggregateJson.length > 4 << 20)
                        throw new RejectError(grpc.status.RESOURCE_EXHAUSTED, `site "${site}": aggregate results too large`);
                    aggregateJson = msg.aggregateJson;
                }
                for (const r of msg.predictions) {
                    if (!/^[0-9a-f]{64}$/.test(r.caseKey))
                        throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": case_key must be a 64-hex pseudonym`);
                    if (!p.cohorts.has(r.cohort))
                        throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": prediction for cohort "${r.cohort}" that was not requested`);
                    if (r.label !== 0 && r.label !== 1)
                        throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": label must be 0 or 1`);
                    for (const [m, v] of Object.entries(r.scores)) {
                        if (!p.models.has(m))
                            throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": score for model "${m}" that was not requested`);
                        if (!(v >= 0 && v <= 1))
                            throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": score ${v} for model "${m}" is not a probability`);
                    }
                    if (rows.length >= 1_000_000)
                        throw new RejectError(grpc.status.RESOURCE_EXHAUSTED, `site "${site}": too many predictions`);
                    rows.push({ caseKey: r.caseKey, cohort: r.cohort, label: r.label, scores: { ...r.scores } });
                }
            }
            catch (err) {
                fail(err);
            }
        });
        call.on('end', () => {
            if (failed)
                return;
            try {
                if (!head)
                    throw new RejectError(grpc.status.INVALID_ARGUMENT, 'empty evaluation submission');
                const digest = aggregateJson ? createHash('sha256').update(aggregateJson).digest('hex') : predictionsDigest(rows);
                if (digest !== head.digest)
                    throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": evaluation digest mismatch`);
                const p = this.pending.get(head.taskId);
                if (!p)
                    throw new RejectError(grpc.status.FAILED_PRECONDITION, `site "${site}": evaluation task "${head.taskId}" closed`);
                let aggregate;
                if (aggregateJson) {
                    if (rows.length > 0)
                        throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": aggregate results must come without per-case predictions`);
                    let parsed;
                    try {
                        parsed = JSON.parse(aggregateJson);
                    }
                    catch {
                        throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": aggregate results are not JSON`);
                    }
                    const r = aggregateSchema.safeParse(parsed);
                    if (!r.success)
                        throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": aggregate results: ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`);
                    for (const [cohort, models] of Object.entries(r.data.cohorts)) {
                        if (!p.cohorts.has(cohort))
                            throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": aggregate for cohort "${cohort}" that was not requested`);
                        for (const m of Object.keys(models))
                            if (!p.models.has(m))
                                throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": aggregate for model "${m}" that was not requested`);
                    }
                    aggregate = r.data;
                }
                p.results.set(site, { site, digest, predictions: rows, ...(aggregate ? { aggregate } : {}) });
                this.check(p);
                callback(null, { ok: true, message: `received ${rows.length} predictions` });
            }
            catch (err) {
                fail(err);
            }
        });
        call.on('error', () => fail(new RejectError(grpc.status.CANCELLED, `site "${site}": submission stream broke`)));
    };
}
//# sourceMappingURL=evaluation.js.map