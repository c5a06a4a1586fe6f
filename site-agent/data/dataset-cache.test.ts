import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSites } from '../../shared/synth/generate.js';
import { openSiteDataset } from './dataset.js';
import { checkManifest } from './manifest.js';
import { openImageFile } from './decode.js';

const dir = mkdtempSync(join(tmpdir(), 'fl-dscache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('colour Doppler site and the tensor cache', () => {
  const gen = generateSites({ out: dir, sites: 1, casesPerSite: 20, seed: 3, imageSize: 48, pair: 'bmus-cdus' });
  const manifest = gen.sites[0]!.manifest;
  const settings = { cdus: { channels: 'rgb' as const } };

  it('fl synth makes grey B-mode + RGB Doppler with red and blue flow', async () => {
    const check = await checkManifest(manifest, { modalitySettings: settings });
    expect(check.problems).toEqual([]);
    expect(check.manifest.modalities).toEqual(['bmus', 'cdus']);
    expect(check.images.filter((i) => i.modality === 'cdus').every((i) => i.channels === 3)).toBe(true);
    expect(check.images.filter((i) => i.modality === 'bmus').every((i) => i.channels === 1)).toBe(true);
    let red = 0;
    let blue = 0;
    for (const c of check.manifest.cases) {
      const f = await (await openImageFile(c.images['cdus']!.path)).frame(0);
      for (let i = 0; i < f.data.length; i += 3) {
        if (f.data[i]! > f.data[i + 2]! + 60) red++;
        if (f.data[i + 2]! > f.data[i]! + 60) blue++;
      }
    }
    expect(red).toBeGreaterThan(20);
    expect(blue).toBeGreaterThan(20);
  });

  it('streams 3-channel Doppler batches from the cache and reuses it on the next open', async () => {
    const cacheDir = join(dir, 'cache');
    const ds = await openSiteDataset(manifest, { modalities: ['bmus', 'cdus'], inputSize: 16, modalitySettings: settings, cacheDir });
    expect(ds.channels).toEqual([1, 3]);
    const [b] = ds.forEvaluation('test').batches(100);
    expect(b!.inputs[0]!.length).toBe(b!.size * 16 * 16);
    expect(b!.inputs[1]!.length).toBe(b!.size * 16 * 16 * 3);
    const train = [...ds.trainingBatches({ batchSize: 4, seed: 1, epoch: 0, augment: true })];
    expect(train.reduce((s, x) => s + x.size, 0)).toBe(ds.forTraining().size);
    expect(train[0]!.inputs[1]!.length).toBe(train[0]!.size * 16 * 16 * 3);
    const tensors = readdirSync(join(cacheDir, 'tensors')).sort();
    expect(tensors).toHaveLength(40);
    const mtimes = tensors.map((t) => statSync(join(cacheDir, 'tensors', t)).mtimeMs);
    const again = await openSiteDataset(manifest, { modalities: ['bmus', 'cdus'], inputSize: 16, modalitySettings: settings, cacheDir });
    expect(readdirSync(join(cacheDir, 'tensors')).sort()).toEqual(tensors);
    expect(tensors.map((t) => statSync(join(cacheDir, 'tensors', t)).mtimeMs)).toEqual(mtimes);
    const [b2] = again.forEvaluation('test').batches(100);
    expect(Array.from(b2!.inputs[1]!)).toEqual(Array.from(b!.inputs[1]!));
    // Another input size is another key: new tensors, old ones kept.
    await openSiteDataset(manifest, { modalities: ['bmus', 'cdus'], inputSize: 24, modalitySettings: settings, cacheDir });
    expect(readdirSync(join(cacheDir, 'tensors'))).toHaveLength(80);
  });

  it('a Doppler column declared grey is converted to luminance and counted', async () => {
    const check = await checkManifest(manifest);
    expect(check.problems).toEqual([]);
    expect(check.images.filter((i) => i.convertedToGrey).length).toBe(20);
  });
});
