// The aggregation strategy interface: one file per strategy, one registry line each.
// Strategies see domain types only (flat Float32Arrays and block readers), never protobuf.
import type { UpdateReader } from '../aggregate/reader.js';

/**
 * Strategy state carried from round to round: JSON values, plus Float32Array server-optimiser
 * moments (model-sized). Checkpoint it with encodeStrategyState (state.ts): a JSON part and a
 * TensorSet holding the arrays. A strategy never mutates the state it is given.
 */
export type StrategyState = Record<string, unknown>;

export interface AggregateResult {
  readonly global: Float32Array;
  readonly state: StrategyState;
  readonly metrics: Record<string, number>;
}

export interface StrategyContext {
  /** Sites expected per round (the listed sites, or min_sites when sites are not listed). */
  readonly expectedSites: number;
  /** The fewest updates a round may aggregate. */
  readonly minSites: number;
}

export interface Strategy {
  readonly name: string;
  /** Throws ConfigError naming the field (strategy.X) when the rule cannot be honoured. */
  validate(ctx: StrategyContext): void;
  /** Parameters sent to sites with each training task (e.g. FedProx's proximal_mu). */
  siteConfig(): Record<string, number>;
  initialState?(): StrategyState;
  /**
   * Sites send deltas (local - global); `updates` are in the coordinator's logged summation order,
   * all finite and of the model's length. Returns the next global model (a new array).
   */
  aggregate(global: Float32Array, updates: readonly UpdateReader[], state: StrategyState): Promise<AggregateResult>;
}
