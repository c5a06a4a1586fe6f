// Registry of benchmarks: one import and one line each.
import type { Bench } from './types.js';
import { transportBench } from './transport.js';

export const benches: Bench[] = [
  transportBench,
];
