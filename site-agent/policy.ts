// The site's own policy (`policy:` in site.yaml), enforced whatever the coordinator asks: which
// evaluation privacy modes and per-case cohorts it accepts, bounds on training settings and the
// models it trains, and that a freeze notice proves its models_frozen record is in the signed
// study log (inclusion proof under a tree head signed by the coordinator key this site pinned).
// A refusal is a PolicyRefusal: logged at the site, reported to the coordinator as a refusal.
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { FlError } from '../shared/errors/index.js';
import { POLICY_REFUSAL_PREFIX, type SitePolicy } from '../shared/config/site.js';
import type { EvaluateTask, FreezeNotice, TrainTask } from '../shared/protocol/index.js';
import { SignedTreeHeadSchema, checkTreeHeadSignature } from '../shared/audit/tree-head.js';
import { checkInclusionProof } from '../shared/audit/proofs.js';
import { leafHash } from '../shared/audit/merkle.js';

export class PolicyRefusal extends FlError {
  constructor(message: string) {
    super('SITE_POLICY', message, { user: true });
  }
  /** The TaskStatus message the coordinator recognises as a refusal. */
  get statusMessage(): string {
    return `${POLICY_REFUSAL_PREFIX}${this.message}`.slice(0, 400);
  }
}

const refuse = (m: string): never => {
  throw new PolicyRefusal(m);
};

export function checkTrainTask(p: SitePolicy, t: TrainTask): void {
  const b = p.training;
  const what = `training task ${t.taskId}`;
  if (b.learning_rate && !(t.learningRate >= b.learning_rate.min && t.learningRate <= b.learning_rate.max)) {
    refuse(`${what}: learning rate ${t.learningRate} is outside policy.training.learning_rate [${b.learning_rate.min}, ${b.learning_rate.max}]`);
  }
  if (b.epochs && !(t.epochs >= b.epochs.min && t.epochs <= b.epochs.max)) {
    refuse(`${what}: ${t.epochs} epochs is outside policy.training.epochs [${b.epochs.min}, ${b.epochs.max}]`);
  }
  if (b.batch_size && !(t.batchSize >= b.batch_size.min && t.batchSize <= b.batch_size.max)) {
    refuse(`${what}: batch size ${t.batchSize} is outside policy.training.batch_size [${b.batch_size.min}, ${b.batch_size.max}]`);
  }
  if (!b.models.includes('all')) {
    for (const ref of t.models) {
      const spec = t.modelConfigs[ref.model];
      const names = [spec?.architecture, spec?.family].filter((x): x is string => !!x);
      if (!names.some((n) => b.models.includes(n))) {
        refuse(`${what}: model "${ref.model}" (${names.join(', ') || 'unknown architecture'}) is not in policy.training.models [${b.models.join(', ')}]`);
      }
    }
  }
}

export function checkEvaluateTask(p: SitePolicy, t: EvaluateTask): void {
  const what = `evaluation task ${t.taskId}`;
  if (!p.privacy.includes(t.privacy)) {
    refuse(`${what}: privacy mode "${t.privacy}" is not accepted (policy.privacy: ${p.privacy.join(', ')})`);
  }
  if (t.privacy === 'predictions') {
    const notAllowed = t.cohorts.filter((c) => !p.per_case_cohorts.includes(c));
    if (notAllowed.length > 0) {
      refuse(`${what}: per-case scores of cohort(s) ${notAllowed.join(', ')} may not leave this site (policy.per_case_cohorts: ${p.per_case_cohorts.join(', ') || 'none'})`);
    }
  }
}

const FreezeProofSchema = z.object({
  record: z.string().min(2).max(1_000_000),
  head: SignedTreeHeadSchema,
  proof: z.object({
    leaf_index: z.number().int().nonnegative(), tree_size: z.number().int().positive(),
    leaf_hash: z.string(), root_hash: z.string(), audit_path: z.array(z.string()).max(64),
  }),
});

const FrozenRecordSchema = z.looseObject({
  type: z.literal('models_frozen'),
  seq: z.number().int().nonnegative(),
  models: z.array(z.looseObject({ model: z.string(), digest: z.string(), threshold: z.number().optional() })).min(1),
});

/**
 * Checks a freeze notice: its proof must show the models_frozen record (same models, digests and
 * thresholds, same seq and hash) included in a tree head signed with `pinnedKey`.
 */
export function checkFreezeNotice(p: SitePolicy, n: FreezeNotice, study: string, pinnedKey: KeyObject | null): void {
  if (!p.require_freeze_proof) return;
  const what = `freeze notice (log seq ${n.logSeq})`;
  if (!n.proofJson) refuse(`${what}: no signed tree head and inclusion proof (policy.require_freeze_proof)`);
  if (!pinnedKey) refuse(`${what}: this site has not pinned the coordinator's study-log key yet (it is pinned at the first co-signing); cannot check the proof`);
  let parsed: z.infer<typeof FreezeProofSchema>;
  try {
    parsed = FreezeProofSchema.parse(JSON.parse(n.proofJson!));
  } catch {
    return refuse(`${what}: the proof is not valid JSON of the form {record, head, proof}`);
  }
  const { record, head, proof } = parsed;
  if (head.study !== study) refuse(`${what}: the tree head is for study "${head.study}", this site is in "${study}"`);
  const bad = checkTreeHeadSignature(pinnedKey!, head);
  if (bad) refuse(`${what}: tree head ${bad} (not signed by the coordinator key this site pinned)`);
  if (proof.tree_size !== head.tree_size || proof.root_hash !== head.root_hash) refuse(`${what}: the inclusion proof is not for the signed tree head`);
  if (proof.leaf_index !== n.logSeq) refuse(`${what}: the proof is for record ${proof.leaf_index}, the notice names ${n.logSeq}`);
  if (leafHash(record).toString('hex') !== n.recordHash) refuse(`${what}: the record does not hash to the notice's record_hash`);
  if (!checkInclusionProof(proof, record)) refuse(`${what}: the inclusion proof does not verify: the record is not in the signed log`);
  let rec: z.infer<typeof FrozenRecordSchema>;
  try {
    rec = FrozenRecordSchema.parse(JSON.parse(record));
  } catch {
    return refuse(`${what}: the proven record is not a models_frozen record`);
  }
  if (rec.seq !== n.logSeq) refuse(`${what}: the proven record has seq ${rec.seq}`);
  for (const m of n.models) {
    const r = rec.models.find((x) => x.model === m.ref.model && x.digest === m.ref.digest);
    if (!r) refuse(`${what}: model "${m.ref.model}" digest ${m.ref.digest.slice(0, 12)}… is not in the proven models_frozen record`);
    if (r!.threshold !== undefined && Math.abs(r!.threshold - m.threshold) > 1e-12) refuse(`${what}: threshold ${m.threshold} of "${m.ref.model}" differs from the logged ${r!.threshold}`);
  }
}
