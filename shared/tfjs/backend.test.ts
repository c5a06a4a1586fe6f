import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { BackendUnavailableError, selectBackend } from './backend.js';

describe('selectBackend', () => {
  it('auto falls back to wasm here (no tfjs-node installed), logs the choice and registers the training kernels', async () => {
    const lines: string[] = [];
    const sel = await selectBackend('auto', { info: (m) => lines.push(m) });
    expect(sel.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(sel.detail).toMatch(/SIMD/);
    expect(lines.some((l) => l.includes('tensorflow-gpu') && l.includes('not installed'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^tfjs backend: wasm/);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('forcing a backend that is not installed throws with install instructions', async () => {
    await expect(selectBackend('tensorflow')).rejects.toThrow(/npm install @tensorflow\/tfjs-node@4\.22/);
    await expect(selectBackend('tensorflow-gpu')).rejects.toThrow(BackendUnavailableError);
    await expect(selectBackend('tensorflow-gpu')).rejects.toThrow(/CUDA 11\.2 and cuDNN 8\.1/);
  });

  it('forces cpu and wasm, and rejects unknown names', async () => {
    expect((await selectBackend('cpu')).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect((await selectBackend('wasm')).name).toBe('wasm');
    await expect(selectBackend('gpu' as never)).rejects.toThrow(/unknown backend "gpu"/);
  });
});
