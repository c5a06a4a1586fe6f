import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSites } from '../../shared/synth/generate.js';
import { CohortGuardError, openSiteDataset, type SiteDataset } from './dataset.js';
import { TensorMemory } from './tensor-memory.js';
import { writeFileSync } from 'node:fs';
import { loadManifest } from './manifest.js';
import { Rng } from '../../shared/synth/rng.js';
import { augmentCase } from './augment.js';

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

describe('batches from tensors kept in memory', () => {
  it('are the batches of the disk-read path (same order, same augmented values) for the same seed, and the memory stays in its budget', async () => {
    const manifest = join(dir, 'site-1/manifest.csv');
    const tensorBytes = 16 * 16 * 4;
    const memory = new TensorMemory(10 * tensorBytes);
    const kept = await openSiteDataset(manifest, { modalities: ['gsus', 'ceus'], inputSize: 16, memory });
    const disk = await openSiteDataset(manifest, { modalities: ['gsus', 'ceus'], inputSize: 16, memory: new TensorMemory(0) });
    // Reference: each case's unaugmented images read from the disk cache, shuffled and augmented
    // as before (Rng(seed, 'shuffle', epoch); Rng(seed, 'augment', epoch, case) per case).
    const all = [...disk.forEvaluation('train').batches(1000)][0]!;
    const px = 16 * 16;
    const byCase = new Map(all.caseIds.map((id, i) => [id, { images: all.inputs.map((a) => a.slice(i * px, (i + 1) * px)), label: all.labels[i]! }]));
    for (const epoch of [0, 1]) {
      for (const augment of [false, true]) {
        const order = new Rng(7, 'shuffle', epoch).shuffle([...all.caseIds]);
        const got = [...kept.trainingBatches({ batchSize: 5, seed: 7, epoch, augment })];
        expect(got.flatMap((b) => b.caseIds)).toEqual(order);
        let k = 0;
        for (const b of got) {
          b.caseIds.forEach((id, i) => {
            const c = byCase.get(id)!;
            const want = augment ? augmentCase(c.images, 16, new Rng(7, 'augment', epoch, id), {}, [1, 1]) : c.images;
            want.forEach((w, m) => expect(Array.from(b.inputs[m]!.subarray(i * px, (i + 1) * px))).toEqual(Array.from(w)));
            expect(b.labels[i]).toBe(c.label);
            k++;
          });
        }
        expect(k).toBe(24);
      }
    }
    expect(memory.count).toBe(10);
    expect(memory.bytes).toBe(10 * tensorBytes);
    expect(memory.reads.memory).toBeGreaterThan(0);
    // evaluation batches read through the same store give the disk path's values
    expect(Array.from([...kept.forEvaluation('test').batches(100)][0]!.inputs[1]!)).toEqual(Array.from([...disk.forEvaluation('test').batches(100)][0]!.inputs[1]!));
  });
});

describe('opening a dataset', () => {
  it('reads no mask (the agent\'s start check validates them): a broken mask fails the check, not the dataset', async () => {
    const other = join(dir, 'masks');
    generateSites({ out: other, sites: 1, casesPerSite: 10, seed: 4, imageSize: 32 });
    const manifest = join(other, 'site-1/manifest.csv');
    writeFileSync(join(other, 'site-1/images/S1-0001_gsus_mask.png'), 'not a png');
    await expect(loadManifest(manifest)).rejects.toThrow(/S1-0001_gsus_mask|mask/);
    const ds = await openSiteDataset(manifest, { modalities: ['gsus', 'ceus'], inputSize: 8 });
    expect(ds.cohortCounts().train).toBeGreaterThan(0);
  });
});
