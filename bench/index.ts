// Registry of benchmarks: one import and one line each.
import type { Bench } from './types.js';

export const benches: Bench[] = [
];
