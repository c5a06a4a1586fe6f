import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSites } from '../../shared/synth/generate.js';
import { CohortGuardError, openSiteDataset, type SiteDataset } from './dataset.js';

const dir = mkdtempSync(join(tmpdir(), 'fl-dataset-'));
let ds: SiteDataset;
beforeAll(async () => {
  generateSites({ out: dir, sites: 1, casesPerSite: 40, seed: 3, imageSize: 64 });
  ds = await openSiteDataset(join(dir, 'site-1/manifest.csv'), { modalities: ['gsus', 'ceus'], inputSize: 16 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('site dataset', () => {
  it('counts cohorts and hands training code only the train cohort', () => {
    expect(ds.cohortCounts()).toEqual({ train: 24, validation: 4, test: 8, prospective: 4 });
    const train = ds.forTraining();
    expect(train.cohort).toBe('train');
    expect(train.size).toBe(24);
    const ids = new Set<string>();
    for (const b of train.batches({ batchSize: 10, seed: 1, epoch: 0 })) {
      expect(b.inputs).toHaveLength(2);
      expect(b.inputs[0]!.length).toBe(b.size * 16 * 16);
      b.caseIds.forEach((id) => ids.add(id));
    }
    expect([...ids].sort()).toEqual([...train.caseIds].sort());
  });

  it('throws a clear error when training code asks for another cohort', () => {
    for (const cohort of ['test', 'validation', 'prospective']) {
      expect(() => ds.forTraining(cohort)).toThrow(CohortGuardError);
      expect(() => ds.forTraining(cohort)).toThrow(new RegExp(`only read the "train" cohort, not "${cohort}".*forEvaluation`));
      expect(() => [...ds.trainingBatches({ batchSize: 4, seed: 0, epoch: 0, cohort })]).toThrow(CohortGuardError);
    }
    expect(() => ds.forTraining('anything')).toThrow(/not "anything"/);
  });

  it('shuffles and augments reproducibly per (seed, epoch); evaluation batches are fixed and unaugmented', () => {
    const order = (seed: number, epoch: number) =>
      [...ds.trainingBatches({ batchSize: 24, seed, epoch })][0]!.caseIds.join(',');
    expect(order(1, 0)).toBe(order(1, 0));
    expect(order(1, 0)).not.toBe(order(1, 1));
    const aug = (seed: number) => [...ds.trainingBatches({ batchSize: 24, seed, epoch: 0, augment: true })][0]!.inputs[0]!;
    expect(aug(2)).toEqual(aug(2));
    const test = ds.forEvaluation('test');
    expect(test.cohort).toBe('test');
    const a = [...test.batches(3)];
    const b = [...test.batches(8)];
    expect(a.flatMap((x) => x.caseIds)).toEqual(b[0]!.caseIds);
    expect(Array.from(b[0]!.labels)).toEqual(Array.from(test.labels));
  });
});
