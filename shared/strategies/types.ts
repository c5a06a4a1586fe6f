// The strategy interface: a small set of round hooks, like Flower's `Strategy`
// (configure_fit / aggregate_fit / configure_evaluate / aggregate_evaluate), one file per strategy
// and one registry line each. Strategies see domain types only (flat Float32Arrays and block
// readers over spooled updates), never protobuf. Cross-cutting rules (the norm-outlier filter,
// the differential-privacy accountant) are wrappers around a strategy (wrappers.ts), not code in
// the round engine.
import type { UpdateReader } from '../aggregate/reader.js';

/**
 * Strategy state carried from round to round: JSON values, plus Float32Array server-optimiser
 * moments (model-sized). Checkpoint it with encodeStrategyState (state.ts): a JSON part and a
 * TensorSet holding the arrays. A strategy never mutates the state it is given.
 */
export type StrategyState = Record<string, unknown>;

/** A site that did not deliver a usable result this round, with the reason (never an exception). */
export interface Failure {
  readonly site: string;
  readonly reason: string;
}

/** Which round of which model a hook is called for. */
export interface RoundInfo {
  readonly round: number;
  readonly model: string;
  /** Sites that dropped out or whose update was refused before aggregation. */
  readonly failures?: readonly Failure[];
  /** The fewest updates the round may aggregate (min_sites). */
  readonly minSites?: number;
  /** Number of model parameters (given to round phases). */
  readonly modelLength?: number;
  /** After-fit phases: the round's accepted updates as spooled (closed by the round engine). */
  readonly updates?: readonly UpdateReader[];
}

/** What a training task carries for this strategy (e.g. FedProx's proximal_mu, DP clip and noise). */
export interface FitInstructions {
  readonly params: Readonly<Record<string, number>>;
}

/** An update left out of the aggregate by a wrapper (recorded by the round engine with the reason). */
export interface Exclusion {
  readonly id: string;
  readonly site: string;
  readonly reason: string;
}

/** Privacy spent after a round (reported by the DP accounting wrapper). */
export interface PrivacySpentReport {
  readonly epsilon: number;
  readonly delta: number;
  readonly noise_multiplier: number;
  readonly clip: number;
  readonly releases: number;
}

export interface AggregateResult {
  readonly global: Float32Array;
  readonly state: StrategyState;
  readonly metrics: Record<string, number>;
  /** Updates left out before aggregation (the summation order lists only the others). */
  readonly excluded?: readonly Exclusion[];
  readonly privacy?: PrivacySpentReport;
  /** Extra study-log records by type (e.g. secure_aggregation: survivors, digests, revealed seeds); the type needs a schema in shared/audit/records.ts. */
  readonly audit?: Readonly<Record<string, unknown>>;
}

/** One site's evaluation result: metrics and the number of cases behind them. */
export interface EvaluationResult {
  readonly site: string;
  readonly numExamples: number;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface StrategyContext {
  /** Sites expected per round (the listed sites, or min_sites when sites are not listed). */
  readonly expectedSites: number;
  /** The fewest updates a round may aggregate. */
  readonly minSites: number;
}

/**
 * A phase of a multi-phase round (e.g. secure aggregation: key advertisement, share distribution,
 * masked upload, unmasking). `before_fit` phases run after the round opens and before training
 * tasks go out; `after_fit` phases run once the updates are in and before aggregateFit. The round
 * engine hands each phase a transport that exchanges phase messages with the round's sites.
 */
export interface RoundPhase {
  readonly name: string;
  readonly when: 'before_fit' | 'after_fit';
  run(round: RoundInfo, transport: PhaseTransport, state: StrategyState): Promise<StrategyState>;
}

export interface PhaseTransport {
  /** Sites taking part in the round (still connected). */
  readonly sites: readonly string[];
  /**
   * Sends each listed site its request for `phase` and collects the answers until every site has
   * answered, failed, or the deadline passes; failures are listed, never thrown.
   */
  exchange(phase: string, requests: ReadonlyMap<string, Uint8Array>, deadlineMs: number): Promise<{ answers: Map<string, Uint8Array>; failures: Failure[] }>;
}

export interface Strategy {
  readonly name: string;
  /** Throws ConfigError naming the field (strategy.X) when the rule cannot be honoured. */
  validate(ctx: StrategyContext): void;
  /** What every training task of the round carries for this strategy. */
  configureFit(round: RoundInfo): FitInstructions;
  initialState?(): StrategyState;
  /**
   * Sites send deltas (local - global); `results` are in the coordinator's logged summation order,
   * all finite and of the model's length; `round.failures` lists the sites that did not deliver.
   * Returns the next global model (a new array).
   */
  aggregateFit(global: Float32Array, results: readonly UpdateReader[], state: StrategyState, round?: RoundInfo): Promise<AggregateResult>;
  /** Parameters of the evaluation that accompanies training (none by default). */
  configureEvaluate(round: RoundInfo): Readonly<Record<string, number>>;
  /** Combines the sites' evaluation metrics (example-weighted means by default). */
  aggregateEvaluate(results: readonly EvaluationResult[], round?: RoundInfo): Record<string, number>;
  /** Extra phases of a round (none for the plain strategies). */
  readonly phases?: readonly RoundPhase[];
  /** Needs to see individual updates (median, trimmed mean, the outlier filter): refused with secure aggregation. */
  readonly needsIndividualUpdates?: boolean;
  /** Updates arrive masked (secure aggregation: ring bytes, not floats); the receiver skips its finiteness check. */
  readonly maskedUpdates?: boolean;
}
