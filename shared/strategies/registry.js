// Strategy registry: a zod schema per strategy (discriminated on `name`, with defaults) and one
// line each. The study config embeds strategyConfigSchema under `strategy:`.
import { z } from 'zod';
import { ConfigError } from '../config/load.js';
import { fedAvg } from './fedavg.js';
import { fedProx } from './fedprox.js';
import { fedAdam } from './fedadam.js';
import { fedYogi } from './fedyogi.js';
import { coordinateMedian } from './median.js';
import { trimmedMean } from './trimmed-mean.js';
import { normBounding } from './norm-bounding.js';
const unit = z.number().min(0).lt(1);
// Reddi et al. 2021 use beta1 = 0.9, beta2 = 0.99, tau = 1e-3 and tune eta; 0.01 is a cautious start.
const serverOpt = { eta: z.number().positive().default(0.01), beta1: unit.default(0.9), beta2: unit.default(0.99), tau: z.number().positive().default(1e-3) };
export const strategyConfigSchema = z.discriminatedUnion('name', [
    z.strictObject({ name: z.literal('fedavg') }),
    z.strictObject({ name: z.literal('fedprox'), proximal_mu: z.number().min(0).default(0.01) }),
    z.strictObject({ name: z.literal('fedadam'), ...serverOpt }),
    z.strictObject({ name: z.literal('fedyogi'), ...serverOpt }),
    z.strictObject({ name: z.literal('median') }),
    z.strictObject({
        name: z.literal('trimmed_mean'),
        /** Fraction trimmed from each end (floor(beta * K) updates); default 0.2 when trim_count is absent. */
        beta: z.number().gt(0).lt(0.5).optional(),
        /** Updates trimmed from each end. */
        trim_count: z.number().int().min(1).optional(),
    }).refine((c) => c.beta === undefined || c.trim_count === undefined, { message: 'give beta or trim_count, not both', path: ['trim_count'] }),
    z.strictObject({ name: z.literal('norm_bounding'), max_norm: z.number().positive() }),
]);
export const strategyNames = ['fedavg', 'fedprox', 'fedadam', 'fedyogi', 'median', 'trimmed_mean', 'norm_bounding'];
/** Validates a `strategy:` section (issues name strategy.FIELD) and builds the strategy. */
export function createStrategy(config) {
    const parsed = strategyConfigSchema.safeParse(config);
    if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `strategy${i.path.length ? '.' + i.path.map(String).join('.') : ''}: ${i.message}`);
        const name = config?.name;
        const hint = typeof name === 'string' && !strategyNames.includes(name) ? ` (known: ${strategyNames.join(', ')})` : '';
        throw new ConfigError(issues.join('; ') + hint, issues);
    }
    const c = parsed.data;
    switch (c.name) {
        case 'fedavg': return fedAvg();
        case 'fedprox': return fedProx(c.proximal_mu);
        case 'fedadam': return fedAdam(c);
        case 'fedyogi': return fedYogi(c);
        case 'median': return coordinateMedian();
        case 'trimmed_mean': return trimmedMean(c.trim_count !== undefined ? { count: c.trim_count } : { beta: c.beta ?? 0.2 });
        case 'norm_bounding': return normBounding(c.max_norm);
    }
}
//# sourceMappingURL=registry.js.map