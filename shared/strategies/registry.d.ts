import { z } from 'zod';
import type { Strategy } from './types.js';
export declare const strategyConfigSchema: z.ZodDiscriminatedUnion<[z.ZodObject<{
    name: z.ZodLiteral<"fedavg">;
}, z.core.$strict>, z.ZodObject<{
    name: z.ZodLiteral<"fedprox">;
    proximal_mu: z.ZodDefault<z.ZodNumber>;
}, z.core.$strict>, z.ZodObject<{
    eta: z.ZodDefault<z.ZodNumber>;
    beta1: z.ZodDefault<z.ZodNumber>;
    beta2: z.ZodDefault<z.ZodNumber>;
    tau: z.ZodDefault<z.ZodNumber>;
    name: z.ZodLiteral<"fedadam">;
}, z.core.$strict>, z.ZodObject<{
    eta: z.ZodDefault<z.ZodNumber>;
    beta1: z.ZodDefault<z.ZodNumber>;
    beta2: z.ZodDefault<z.ZodNumber>;
    tau: z.ZodDefault<z.ZodNumber>;
    name: z.ZodLiteral<"fedyogi">;
}, z.core.$strict>, z.ZodObject<{
    name: z.ZodLiteral<"median">;
}, z.core.$strict>, z.ZodObject<{
    name: z.ZodLiteral<"trimmed_mean">;
    beta: z.ZodOptional<z.ZodNumber>;
    trim_count: z.ZodOptional<z.ZodNumber>;
}, z.core.$strict>, z.ZodObject<{
    name: z.ZodLiteral<"norm_bounding">;
    max_norm: z.ZodNumber;
}, z.core.$strict>], "name">;
export type StrategyConfig = z.output<typeof strategyConfigSchema>;
export declare const strategyNames: readonly ["fedavg", "fedprox", "fedadam", "fedyogi", "median", "trimmed_mean", "norm_bounding"];
/** Validates a `strategy:` section (issues name strategy.FIELD) and builds the strategy. */
export declare function createStrategy(config: unknown): Strategy;
