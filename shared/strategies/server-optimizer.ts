// Adaptive server optimisers on the pseudo-gradient (Reddi et al. 2021, "Adaptive Federated
// Optimization", Algorithm 2). With Δ_t the example-weighted mean delta of round t:
//   m_t = β1 m_{t-1} + (1 - β1) Δ_t
//   v_t = β2 v_{t-1} + (1 - β2) Δ_t²                          (FedAdam)
//   v_t = v_{t-1} - (1 - β2) Δ_t² sign(v_{t-1} - Δ_t²)          (FedYogi)
//   x_{t+1} = x_t + η m_t / (√v_t + τ)
// with m_{-1} = 0 and v_{-1} = τ² (the paper's v_{-1} >= τ²), no bias correction (as in the
// paper). Δ_t is summed in float64 in the given order (weighted-sum.ts); per element, Δ, m, v and
// the step are computed in float64 from the float32 state and rounded to float32 once when stored.
import { exampleWeights, streamWeightedSum, DEFAULT_BLOCK_ELEMS } from '../aggregate/weighted-sum.js';
import { ConfigError } from '../config/load.js';
import { AggregationError, requireFinite, requireUpdates, stepNorm } from './checks.js';
import { defineStrategy } from './base.js';
import type { Strategy, StrategyState } from './types.js';

export interface ServerOptimizerParams {
  /** Server learning rate η. */
  readonly eta: number;
  readonly beta1: number;
  readonly beta2: number;
  /** Adaptivity τ (numerical floor of the denominator). */
  readonly tau: number;
}

export type ServerOptimizerKind = 'adam' | 'yogi';

export interface ServerOptimizerState extends StrategyState {
  /** Rounds applied so far. */
  readonly step: number;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

function checkParams(name: string, p: ServerOptimizerParams): void {
  const bad = (field: string, msg: string) => new ConfigError(`strategy.${field}: ${msg} (${name})`, [`strategy.${field}: ${msg}`]);
  if (!(Number.isFinite(p.eta) && p.eta > 0)) throw bad('eta', `${p.eta} must be a finite number > 0`);
  if (!(p.beta1 >= 0 && p.beta1 < 1)) throw bad('beta1', `${p.beta1} must be in [0, 1)`);
  if (!(p.beta2 >= 0 && p.beta2 < 1)) throw bad('beta2', `${p.beta2} must be in [0, 1)`);
  if (!(Number.isFinite(p.tau) && p.tau > 0)) throw bad('tau', `${p.tau} must be a finite number > 0`);
}

/**
 * Reads and checks the optimiser state for a model of `length` values. Fresh state (no moments
 * yet) has m and v null: m_{-1} = 0 and v_{-1} = τ² are used without allocating them.
 */
export function optimizerState(name: string, state: StrategyState, length: number): { step: number; m: Float32Array | null; v: Float32Array | null } {
  if (state.m === undefined && state.v === undefined && (state.step === undefined || state.step === 0)) {
    return { step: 0, m: null, v: null };
  }
  const { step, m, v } = state;
  if (!(typeof step === 'number' && Number.isInteger(step) && step >= 0)) throw new AggregationError(`${name}: state.step ${String(step)} is not a round count`);
  for (const [k, a] of [['m', m], ['v', v]] as const) {
    if (!(a instanceof Float32Array)) throw new AggregationError(`${name}: state.${k} is not a Float32Array (decode checkpoints with decodeStrategyState)`);
    if (a.length !== length) throw new AggregationError(`${name}: state.${k} has ${a.length} values, the model has ${length}`);
  }
  return { step, m: m as Float32Array, v: v as Float32Array };
}

export function serverOptimizer(name: string, kind: ServerOptimizerKind, params: ServerOptimizerParams, blockElems = DEFAULT_BLOCK_ELEMS): Strategy {
  checkParams(name, params);
  const { eta, beta1, beta2, tau } = params;
  return defineStrategy({
    name,
    initialState: () => ({ step: 0 }),
    async aggregateFit(global, updates, state) {
      requireUpdates(name, global, updates);
      const prev = optimizerState(name, state, global.length);
      const v0 = tau * tau;
      const { ws, total } = exampleWeights(updates);
      const scale = 1 / total;
      const next = new Float32Array(global.length);
      const m = new Float32Array(global.length);
      const v = new Float32Array(global.length);
      const pm = prev.m;
      const pv = prev.v;
      let gradSq = 0;
      await streamWeightedSum(updates, ws, global.length, (start, len, acc) => {
        for (let j = 0; j < len; j++) {
          const i = start + j;
          const d = acc[j]! * scale;
          const d2 = d * d;
          gradSq += d2;
          const mi = beta1 * (pm ? pm[i]! : 0) + (1 - beta1) * d;
          const vp = pv ? pv[i]! : v0;
          const vi = kind === 'adam' ? beta2 * vp + (1 - beta2) * d2 : vp - (1 - beta2) * d2 * Math.sign(vp - d2);
          m[i] = mi;
          v[i] = vi;
          next[i] = global[i]! + (eta * mi) / (Math.sqrt(vi) + tau);
        }
      }, { blockElems });
      requireFinite(name, next);
      const nextState: ServerOptimizerState = { step: prev.step + 1, m, v };
      return {
        global: next,
        state: nextState,
        metrics: { total_examples: total, updates: updates.length, pseudo_gradient_norm: Math.sqrt(gradSq), step_norm: stepNorm(global, next), optimizer_step: prev.step + 1 },
      };
    },
  });
}
