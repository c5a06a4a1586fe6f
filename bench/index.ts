// Registry of benchmarks: one import and one line each.
import type { Bench } from './types.js';
import { transportBench } from './transport.js';
import { trainingBench } from './training.js';
import { aggregationBench } from './aggregation.js';
import { statsBench } from './stats.js';
import { studyScaleBench } from './study-scale.js';
import { radiomicsBench } from './radiomics.js';
import { secaggBench } from './secagg.js';
import { dataBench } from './data.js';

export const benches: Bench[] = [
  aggregationBench,
  transportBench,
  studyScaleBench,
  trainingBench,
  statsBench,
  radiomicsBench,
  secaggBench,
  dataBench,
];
