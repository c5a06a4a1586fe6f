// A colour stream end to end: a synthetic B-mode + RGB colour Doppler site, a dual-stream
// MobileNetV2 whose Doppler input takes 3 channels, trained and scored through the image family
// by the site's trainer; a site that declares Doppler grey is refused with what to change.
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { generateSites } from '../../synth/generate.js';
import { imageFamily } from './index.js';
import { createLocalTrainer } from '../../../site-agent/local-trainer.js';

const log = pino({ level: 'silent' });
const config = { modalities: ['bmus', 'cdus'], channels: { bmus: 1, cdus: 3 }, inputSize: 32, widthMultiplier: 0.25, headUnits: 4, seed: 3 };

describe('image family with a colour modality', () => {
  it('dual_mobilenetv2 reads B-mode grey and Doppler RGB, trains and scores', async () => {
    const out = mkdtempSync(join(tmpdir(), 'colour-'));
    const { sites } = generateSites({ out, sites: 1, casesPerSite: 30, seed: 5, imageSize: 32, pair: 'bmus-cdus' });
    const entry = { name: 'dual', architecture: 'dual_mobilenetv2', config };
    expect(imageFamily.inputs(entry).channels).toEqual({ bmus: 1, cdus: 3 });
    const global = await imageFamily.initialModel(entry);
    const trainer = await createLocalTrainer({ manifest: sites[0]!.manifest, backend: 'cpu', log });
    const res = await trainer.train({
      model: 'dual', architecture: 'dual_mobilenetv2', config, round: 1, global, epochs: 1, batchSize: 8, learningRate: 0.001, seed: 1, strategyParams: {},
    });
    expect(res.numExamples).toBe(sites[0]!.cases.train.n);
    expect(res.weights.infos).toEqual(global.infos);
    const scored = await trainer.evaluate({ model: 'dual', architecture: 'dual_mobilenetv2', config, weights: res.weights, cohorts: ['test'] });
    expect(scored.length).toBe(sites[0]!.cases.test.n);
    expect(scored.every((c) => c.score > 0 && c.score < 1)).toBe(true);

    const grey = await createLocalTrainer({ manifest: sites[0]!.manifest, backend: 'cpu', log, modalities: { cdus: { channels: 'grey' } } });
    await expect(grey.train({ model: 'dual', architecture: 'dual_mobilenetv2', config, round: 1, global, epochs: 1, batchSize: 8, learningRate: 0.001, seed: 1, strategyParams: {} }))
      .rejects.toThrow(/model "dual" reads cdus with 3 channel\(s\), but this site provides 1 .*declare modalities\.cdus\.channels: rgb/);
  });
});
