// Radiomics extraction: 1 000 lesion regions of about 100x100 pixels (ellipses of ~7 800 pixels)
// in 256x256 8-bit speckled images, all families, fixed bin number 32, 2D averaged. Reports the
// time of each family alone (single thread, on the first 100 regions), the single-thread rate and
// the rate of the worker pool on all 1 000 regions (target: under 60 s on 2 cores).
import { DEFAULT_SETTINGS, extractRegion, type ExtractionSettings, type RegionInput } from '../shared/radiomics/extract.js';
import { FAMILIES } from '../shared/radiomics/registry.js';
import { Rng } from '../shared/synth/rng.js';
import { RadiomicsPool, defaultWorkers } from '../site-agent/radiomics/pool.js';
import type { Bench } from './types.js';

const SIZE = 256;

function region(k: number): RegionInput {
  const rng = new Rng(20240, 'radiomics-bench', k);
  const values = new Float64Array(SIZE * SIZE);
  const mask = new Uint8Array(SIZE * SIZE);
  const cx = 128 + rng.normal(0, 8);
  const cy = 128 + rng.normal(0, 8);
  const a = rng.uniform(52, 58);
  const b = rng.uniform(42, 48);
  const t = rng.uniform(0, Math.PI);
  const c = Math.cos(t);
  const s = Math.sin(t);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const u = ((x - cx) * c + (y - cy) * s) / a;
      const v = (-(x - cx) * s + (y - cy) * c) / b;
      const inside = u * u + v * v < 1;
      const base = inside ? 70 : 120;
      // Rayleigh-like speckle.
      const speckle = Math.sqrt(-2 * Math.log(1 - rng.next())) * 25;
      values[y * SIZE + x] = Math.min(255, Math.round(base + speckle - 31));
      mask[y * SIZE + x] = inside ? 1 : 0;
    }
  }
  return { width: SIZE, height: SIZE, values, mask, spacing: { x: 0.08, y: 0.08 } };
}

export const radiomicsBench: Bench = {
  name: 'radiomics',
  description: '1 000 regions ~100x100 px in 256x256 images, all families, bin number 32: per-family time, single thread vs worker pool',
  async run() {
    const n = 1000;
    const settings: ExtractionSettings = { ...DEFAULT_SETTINGS, discretisation: { method: 'bin-count', count: 32 } };
    const regions = Array.from({ length: n }, (_, k) => region(k));
    const pixels = regions.reduce((s, r) => s + r.mask.reduce((a, b) => a + b, 0), 0) / n;
    console.log(`regions: ${n}, mean ${pixels.toFixed(0)} pixels each, ${SIZE}x${SIZE} images`);
    const sample = regions.slice(0, 100);
    for (const f of FAMILIES) {
      const t0 = performance.now();
      for (const r of sample) extractRegion(r, { ...settings, families: [f] });
      const ms = (performance.now() - t0) / sample.length;
      console.log(`  ${f.padEnd(8)} ${ms.toFixed(2)} ms/region`);
    }
    const t0 = performance.now();
    for (const r of sample) extractRegion(r, settings);
    const single = (performance.now() - t0) / 1000 / sample.length;
    console.log(`single thread, all families: ${(single * 1000).toFixed(1)} ms/region (${(1 / single).toFixed(1)} regions/s)`);
    const pool = new RadiomicsPool(defaultWorkers());
    const t1 = performance.now();
    await Promise.all(regions.map((r) => pool.extractRegion(r, settings)));
    const total = (performance.now() - t1) / 1000;
    await pool.close();
    const rate = n / total;
    console.log(`pool of ${pool.size} worker${pool.size === 1 ? '' : 's'}${pool.inProcess ? ' (in-process: no compiled worker)' : ''}: ${n} regions in ${total.toFixed(2)} s (target < 60 s: ${total < 60 ? 'met' : 'MISSED'})`);
    console.log(`radiomics: ${rate.toFixed(1)} regions/s with ${pool.size} workers vs ${(1 / single).toFixed(1)} regions/s single thread = ${(rate * single).toFixed(2)}x; 1 000 regions in ${total.toFixed(1)} s = ${(60 / total).toFixed(1)}x under the 60 s target`);
  },
};
