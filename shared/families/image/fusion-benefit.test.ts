// On synthetic two-modality data where each modality carries independent partial evidence, a
// centrally trained DDFN must beat both single-modality baselines on the held-out test cohort.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, modelModalities } from '../../models/registry.js';
import { generateSites } from '../../synth/generate.js';
import { selectBackend } from '../../tfjs/backend.js';
import { openSiteDataset } from '../../../site-agent/data/dataset.js';
import { evaluateCohort } from './predict.js';
import { trainLocal } from './train.js';

const dir = mkdtempSync(join(tmpdir(), 'fl-fusion-'));
const INPUT = 32;
beforeAll(async () => {
  await selectBackend('wasm');
  generateSites({ out: dir, sites: 1, casesPerSite: 1000, seed: 11, imageSize: 64 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function testAuc(name: string): Promise<number> {
  const cfg = { inputSize: INPUT, widths: [8, 16, 32], seed: 1 };
  const ds = await openSiteDataset(join(dir, 'site-1/manifest.csv'), { modalities: modelModalities(name, cfg), inputSize: INPUT });
  const model = buildModel(name, cfg);
  await trainLocal(model, ds.forTraining(), { epochs: 12, batchSize: 16, learningRate: 3e-3, seed: 1, augment: true });
  const auc = evaluateCohort(model, ds, 'test').auc;
  model.dispose();
  return auc;
}

describe('dual-modal fusion on synthetic data', () => {
  it('ddfn reaches a higher test AUC than gsus_only and ceus_only', async () => {
    const ddfn = await testAuc('ddfn');
    const gsus = await testAuc('gsus_only');
    const ceus = await testAuc('ceus_only');
    console.log(`test AUC (n=200): ddfn ${ddfn.toFixed(3)}, gsus_only ${gsus.toFixed(3)}, ceus_only ${ceus.toFixed(3)}`);
    expect(gsus).toBeGreaterThan(0.7);
    expect(ceus).toBeGreaterThan(0.7);
    expect(ddfn).toBeGreaterThan(Math.max(gsus, ceus) + 0.01);
  }, 120_000);
});
