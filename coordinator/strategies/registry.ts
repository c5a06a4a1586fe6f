// Strategy registry: a zod schema per strategy (discriminated on `name`) and one line each.
import { z } from 'zod';
import { fedAvg } from './fedavg.js';
import type { Strategy } from './types.js';

export const strategyConfigSchema = z.discriminatedUnion('name', [
  z.strictObject({ name: z.literal('fedavg') }),
]);
export type StrategyConfig = z.output<typeof strategyConfigSchema>;

export function createStrategy(config: { name: string } & Record<string, unknown>): Strategy {
  const parsed = strategyConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`strategy${issue.path.length ? '.' + issue.path.join('.') : ''}: ${issue.message}`);
  }
  const c = parsed.data;
  switch (c.name) {
    case 'fedavg':
      return fedAvg();
  }
}
