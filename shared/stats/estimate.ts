// The shape every reported figure takes: a value or null with the reason it is undefined
// (never NaN), so JSON reports stay valid and an auditor sees why a cell is empty.

export type Estimate = {
  readonly estimate: number | null;
  /** 95% confidence interval [lower, upper], or null when undefined. */
  readonly ci: readonly [number, number] | null;
  readonly method: string;
  /** Why the estimate (or its interval) is undefined. */
  readonly reason?: string;
};

/** Proportion estimate: also carries its numerator and denominator. */
export type ProportionEstimate = Estimate & {
  readonly numerator: number;
  readonly denominator: number;
};

export function undefinedEstimate(method: string, reason: string): Estimate {
  return { estimate: null, ci: null, method, reason };
}

/** Returns x when it is a finite number, else null. */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
