// The committed module bytes are the compiled simd-kernels.wat (regenerate with npm run gen:simd),
// and each SIMD kernel matches a plain loop on inputs that exercise its vector and scalar paths.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { SIMD_KERNELS_WASM_BASE64 } from './simd-kernels.wasm.js';
import { heapOffset, simdKernels } from './simd.js';
// @ts-expect-error plain JavaScript generator without declarations
import { compileSimdKernels } from './gen-simd.mjs';

describe('simd kernels', () => {
  it('simd-kernels.wasm.ts is the compiled simd-kernels.wat (run npm run gen:simd after editing the .wat)', async () => {
    const bytes = (await compileSimdKernels(fileURLToPath(new URL('./simd-kernels.wat', import.meta.url)))) as Buffer;
    expect(bytes.toString('base64')).toBe(SIMD_KERNELS_WASM_BASE64);
  });

  it('sum_rows accumulates in float64: 2^20 rows of 1 + 2^-20 per channel sum exactly', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const rows = 1 << 20;
    for (const C of [4, 3]) {
      // float32 accumulation would stall at 2^24 / 2^20 granularity; float64 keeps every addend
      const x = tf.fill([rows, C], 1 + 2 ** -20);
      const out = tf.zeros([C]);
      simdKernels(backend).sum_rows(heapOffset(backend, x as unknown as tf.TensorInfo), heapOffset(backend, out as unknown as tf.TensorInfo), rows, C);
      const got = out.dataSync();
      for (let c = 0; c < C; c++) expect(got[c]).toBe(Math.fround(rows * (1 + 2 ** -20)));
      tf.dispose([x, out]);
    }
  });
});
