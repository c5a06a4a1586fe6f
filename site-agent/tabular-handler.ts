// The site's answer to `tabular.sums` phase requests: the coordinator names a tabular model (its
// family and config), the frozen models whose scores are inputs, and one request of the fitting
// algorithm (shared/tabular/protocol.ts); the site assembles the model's table from its `train`
// cohort (manifest columns, radiomics, other models' scores), applies complete-case selection and
// the min_cell disclosure control, and replies with sums only (JSON of numbers; the privacy guard
// checks it again). A refusal (fewer than min_cell cases, a Hessian from too few rows) is thrown,
// so the reply's error tells the coordinator which site refused what.
import { z } from 'zod';
import type { Logger } from 'pino';
import { FlError } from '../shared/errors/index.js';
import type { PhaseRequest } from '../shared/protocol/index.js';
import type { Trainer } from './trainer.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@=+-]{0,200}$/);
const num = z.number().finite();
const subset = z.union([
  z.strictObject({ kind: z.literal('all') }),
  z.strictObject({ kind: z.literal('fold'), fold: z.number().int().min(0), folds: z.number().int().min(2).max(100), seed: z.number().int(), part: z.enum(['train', 'test']) }),
]);
const base = { outcome: name, columns: z.array(name).max(5000), completeOn: z.array(name).max(10000).optional() };
const treeNode = z.union([
  z.strictObject({ id: z.number().int(), feature: z.number().int().min(0), threshold: num, left: z.number().int(), right: z.number().int() }),
  z.strictObject({ id: z.number().int(), leaf: num }),
]);
const tree = z.strictObject({ nodes: z.array(treeNode).max(100_000) });
const standardization = z.strictObject({ mean: z.array(num), sd: z.array(num) });
const requestSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('moments'), ...base, subsets: z.array(subset).max(200), shifts: z.array(z.array(num)).optional(), crossProducts: z.boolean().optional() }),
  z.strictObject({ kind: z.literal('icc'), ...base, pairs: z.array(z.tuple([name, name])).max(5000), shift: z.array(num) }),
  z.strictObject({ kind: z.literal('glm'), ...base, tasks: z.array(z.strictObject({ subset, beta: z.array(num), standardization: standardization.optional() })).max(200) }),
  z.strictObject({ kind: z.literal('deviance'), ...base, tasks: z.array(z.strictObject({ subset, betas: z.array(z.array(num)).max(2000) })).max(200) }),
  z.strictObject({ kind: z.literal('sketch'), ...base, grid: z.array(z.strictObject({ lo: num, width: num.positive(), cells: z.number().int().min(1).max(100_000) })) }),
  z.strictObject({
    kind: z.literal('histograms'), ...base, edges: z.array(z.array(num)), baseScore: num, learningRate: num, trees: z.array(tree).max(10_000),
    growing: z.strictObject({ nodes: z.array(treeNode), frontier: z.array(z.number().int()) }), minNodeRows: z.number().int().min(0),
  }),
]);
// endpoint: the model's endpoint chain (validated by the trainer with shared/config/endpoint.ts).
const specSchema = z.strictObject({ family: z.string().optional(), architecture: z.string().min(1), config: z.record(z.string(), z.unknown()), endpoint: z.array(z.record(z.string(), z.unknown())).min(1).max(4).optional() });

export const tabularPayloadSchema = z.strictObject({
  spec: specSchema,
  /** Configs of the models whose scores are inputs. */
  modelConfigs: z.record(z.string(), specSchema).default({}),
  dependencies: z.array(z.strictObject({ model: name, version: z.number().int().min(0), digest: z.string().regex(/^[0-9a-f]{64}$/) })).max(50),
  /** Image models whose penultimate-layer features are inputs, with their principal components once known. */
  deep: z.array(z.strictObject({
    model: name, version: z.number().int().min(0), digest: z.string().regex(/^[0-9a-f]{64}$/),
    pca: z.strictObject({ model: name, names: z.array(name).max(512), center: z.array(num).max(65536), loadings: z.array(z.array(num).max(65536)).max(512) }).optional(),
  })).max(10).optional(),
  request: requestSchema,
});
export type TabularPayload = z.input<typeof tabularPayloadSchema>;

/** The `tabular` phase handler of a site agent. */
export function createTabularHandler(trainer: Trainer, log: Logger, policy: { readonly models: readonly string[] } = { models: ['all'] }): (req: PhaseRequest) => Promise<Uint8Array> {
  return async (req) => {
    if (req.phase !== 'tabular.sums') throw new FlError('tabular.phase', `unknown tabular phase "${req.phase}" (this site answers tabular.sums)`);
    if (!trainer.sums) throw new FlError('tabular.phase', 'this site cannot compute sums of tabular models');
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(req.payload).toString('utf8'));
    } catch {
      throw new FlError('tabular.payload', `tabular.sums for model "${req.model}": the payload is not JSON`);
    }
    const parsed = tabularPayloadSchema.safeParse(json);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new FlError('tabular.payload', `tabular.sums for model "${req.model}": field "${i.path.join('.')}": ${i.message}`);
    }
    const p = parsed.data;
    // The site's policy (site.yaml policy.training.models) applies to fits from sums as to training.
    const names = [p.spec.architecture, p.spec.family].filter((x): x is string => !!x);
    if (!policy.models.includes('all') && !names.some((n) => policy.models.includes(n))) {
      throw new FlError('SITE_POLICY', `tabular.sums for model "${req.model}" (${names.join(', ')}) is not in policy.training.models [${policy.models.join(', ')}]`, { user: true });
    }
    const started = Date.now();
    const sums = await trainer.sums({
      model: req.model, ...(p.spec.family ? { family: p.spec.family } : {}), architecture: p.spec.architecture, config: p.spec.config, ...(p.spec.endpoint ? { endpoint: p.spec.endpoint } : {}),
      modelConfigs: p.modelConfigs, request: { dependencies: p.dependencies, ...(p.deep ? { deep: p.deep } : {}), request: p.request },
    });
    log.debug({ model: req.model, kind: p.request.kind, ms: Date.now() - started }, 'tabular sums computed');
    return new TextEncoder().encode(JSON.stringify(sums));
  };
}
