// The aggregation strategy interface: one file per strategy, one registry line each.
// Strategies see domain types only (flat Float32Arrays and block readers), never protobuf.
import type { UpdateReader } from '../../shared/aggregate/reader.js';

/** JSON-serialisable strategy state (server optimiser moments are flat float arrays). */
export type StrategyState = Record<string, unknown>;

export interface AggregateResult {
  readonly global: Float32Array;
  readonly state: StrategyState;
  readonly metrics: Record<string, number>;
}

export interface Strategy {
  readonly name: string;
  /** Throws ConfigError naming the field when the rule cannot be honoured. */
  validate(ctx: { expectedSites: number; minSites: number }): void;
  /** Parameters sent to sites with each training task (e.g. FedProx's proximal_mu). */
  siteConfig(): Record<string, number>;
  initialState?(): StrategyState;
  /** Sites send deltas (local - global); `updates` are in logged arrival order. */
  aggregate(global: Float32Array, updates: readonly UpdateReader[], state: StrategyState): Promise<AggregateResult>;
}
