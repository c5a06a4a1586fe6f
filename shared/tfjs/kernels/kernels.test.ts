// Every kernel registered for wasm training matches the cpu backend (forward and gradients) on
// random inputs across shapes, strides and paddings.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './register.js';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

let seed = 12345;
function rand(n: number, nonNegativeShare = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const u = seed / 2 ** 32 - 0.5;
    a[i] = nonNegativeShare > 0 && u < nonNegativeShare - 0.5 ? 0 : u * 2;
  }
  return a;
}

/** Runs `f` on both backends with the same inputs; returns [cpu outputs, wasm outputs]. */
async function onBoth(inputs: { data: Float32Array; shape: number[] }[], f: (...xs: tf.Tensor[]) => tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => f(...inputs.map((i) => tf.tensor(i.data, i.shape)))).map((t) => {
      const d = t.dataSync() as Float32Array;
      t.dispose();
      return d;
    });
  };
  return [await run('cpu'), await run('wasm')];
}

function expectClose(cpu: Float32Array[], wasm: Float32Array[], what: string): void {
  expect(wasm.length).toBe(cpu.length);
  cpu.forEach((c, k) => {
    const w = wasm[k]!;
    expect(w.length, `${what} output ${k} size`).toBe(c.length);
    let worst = 0;
    for (let i = 0; i < c.length; i++) worst = Math.max(worst, Math.abs(c[i]! - w[i]!) / (1 + Math.abs(c[i]!)));
    expect(worst, `${what} output ${k}`).toBeLessThan(2e-5);
  });
}

/** Forward output and the gradients of sum(y * dy) with respect to every input. */
function withGrads(op: (...xs: tf.Tensor[]) => tf.Tensor, dy: Float32Array) {
  return (...xs: tf.Tensor[]): tf.Tensor[] => {
    const y = op(...xs);
    const dyT = tf.tensor(dy.subarray(0, y.size), y.shape);
    const g = tf.grads((...ins: tf.Tensor[]) => tf.sum(tf.mul(op(...ins), dyT)))(xs);
    return [y, ...g];
  };
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
});

describe('wasm training kernels match cpu', () => {
  it('registers every kernel for wasm', () => {
    for (const k of WASM_TRAINING_KERNELS) expect(tf.getKernel(k.kernelName, 'wasm')).toBe(k);
  });

  const convCases: { x: number[]; f: number[]; s: number | [number, number]; pad: Pad }[] = [
    { x: [2, 7, 7, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' },
    { x: [2, 7, 7, 3], f: [3, 3, 3, 4], s: 1, pad: 'valid' },
    { x: [2, 8, 8, 3], f: [3, 3, 3, 5], s: 2, pad: 'same' },
    { x: [1, 9, 7, 2], f: [3, 3, 2, 3], s: 2, pad: 'valid' },
    { x: [2, 6, 6, 4], f: [2, 2, 4, 3], s: 1, pad: 'same' },
    { x: [2, 6, 6, 4], f: [1, 1, 4, 6], s: 1, pad: 'same' },
    { x: [1, 10, 10, 1], f: [5, 5, 1, 8], s: [2, 1], pad: 'same' },
    { x: [2, 5, 5, 2], f: [3, 3, 2, 2], s: 1, pad: 1 },
    { x: [1, 5, 6, 2], f: [3, 3, 2, 3], s: 1, pad: [[0, 0], [3, 3], [0, 2], [0, 0]] },
    // M = 3*20*23 = 1380: the filter-gradient GEMM's runs of 1024 with a remainder, 2x4 blocks and leftovers
    { x: [3, 20, 23, 5], f: [3, 3, 5, 6], s: 1, pad: 'same' },
    { x: [2, 16, 16, 8], f: [3, 3, 8, 16], s: 1, pad: 'same' },
    // 35 pixels of 4 and 8 channels: the 4x4 register transposes to channel planes and their tail rows
    { x: [1, 5, 7, 4], f: [3, 3, 4, 8], s: 1, pad: 'valid' },
    // one input channel, 3x3 'same' stride 1, 4k outputs: the direct SIMD forward conv (borders, interior)
    { x: [2, 9, 7, 1], f: [3, 3, 1, 8], s: 1, pad: 'same' },
    { x: [1, 3, 3, 1], f: [3, 3, 1, 4], s: 1, pad: 'same' },
    { x: [3, 12, 5, 1], f: [3, 3, 1, 12], s: 1, pad: 'same' },
    { x: [2, 9, 7, 1], f: [3, 3, 1, 6], s: 1, pad: 'same' },
  ];
  for (const c of convCases) {
    it(`conv2d ${c.x} * ${c.f} stride ${c.s} pad ${JSON.stringify(c.pad)}: forward, input and filter gradients`, async () => {
      const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const op = (x: tf.Tensor, w: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad as 'same');
      const [cpu, wasm] = await onBoth([{ data: rand(n(c.x)), shape: c.x }, { data: rand(n(c.f)), shape: c.f }], withGrads(op, rand(16384)));
      expectClose(cpu, wasm, 'conv2d');
    });
  }

  const dwCases: { x: number[]; f: number[]; s: number; pad: 'same' | 'valid' }[] = [
    { x: [2, 7, 7, 3], f: [3, 3, 3, 1], s: 1, pad: 'same' },
    { x: [2, 8, 8, 4], f: [3, 3, 4, 1], s: 2, pad: 'same' },
    { x: [1, 9, 9, 2], f: [3, 3, 2, 2], s: 2, pad: 'valid' },
    { x: [2, 6, 6, 3], f: [5, 5, 3, 2], s: 1, pad: 'same' },
  ];
  for (const c of dwCases) {
    it(`depthwiseConv2d ${c.x} * ${c.f} stride ${c.s} ${c.pad}: forward and both gradients`, async () => {
      const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const op = (x: tf.Tensor, w: tf.Tensor) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad);
      const [cpu, wasm] = await onBoth([{ data: rand(n(c.x)), shape: c.x }, { data: rand(n(c.f)), shape: c.f }], withGrads(op, rand(4096)));
      expectClose(cpu, wasm, 'depthwiseConv2d');
    });
  }

  const poolCases: { x: number[]; size: number; s: number; pad: 'same' | 'valid' }[] = [
    { x: [2, 8, 8, 3], size: 2, s: 2, pad: 'valid' },
    { x: [1, 6, 4, 5], size: 2, s: 2, pad: 'same' },
    { x: [3, 4, 6, 8], size: 2, s: 2, pad: 'valid' },
    { x: [2, 7, 7, 3], size: 2, s: 2, pad: 'same' },
    { x: [1, 9, 9, 2], size: 3, s: 2, pad: 'same' },
    { x: [2, 6, 5, 4], size: 3, s: 1, pad: 'valid' },
  ];
  for (const c of poolCases) {
    it(`maxPool and avgPool ${c.x} size ${c.size} stride ${c.s} ${c.pad}: forward and gradients (with ties)`, async () => {
      const n = c.x.reduce((a, b) => a * b, 1);
      // A third of the inputs are exact zeros, as after a ReLU: windows with tied maxima.
      const x = { data: rand(n, 1 / 3), shape: c.x };
      const dy = rand(4096);
      const [cpuMax, wasmMax] = await onBoth([x], withGrads((t) => tf.maxPool(t as tf.Tensor4D, c.size, c.s, c.pad), dy));
      expectClose(cpuMax, wasmMax, 'maxPool');
      const [cpuAvg, wasmAvg] = await onBoth([x], withGrads((t) => tf.avgPool(t as tf.Tensor4D, c.size, c.s, c.pad), dy));
      expectClose(cpuAvg, wasmAvg, 'avgPool');
    });
  }

  const biasCases: { x: number[]; v: number[]; vectorFirst?: boolean }[] = [
    { x: [2, 5, 5, 3], v: [3] },
    { x: [1, 4, 6, 8], v: [8], vectorFirst: true },
    { x: [5, 7], v: [1, 7] },
    { x: [3, 4, 1], v: [1] },
  ];
  for (const c of biasCases) {
    it(`bias add ${c.vectorFirst ? `${c.v} + ${c.x}` : `${c.x} + ${c.v}`} and the conv/relu chain around it: forward and gradients`, async () => {
      const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const op = (x: tf.Tensor, v: tf.Tensor) => tf.relu(c.vectorFirst ? tf.add(v, x) : tf.add(x, v));
      const [cpu, wasm] = await onBoth([{ data: rand(n(c.x)), shape: c.x }, { data: rand(n(c.v)), shape: c.v }], withGrads(op, rand(4096)));
      expectClose(cpu, wasm, 'bias add');
    });
  }

  it('relu gradient (one-pass kernel on wasm) at exact zeros, odd sizes and after a conv', async () => {
    const x = { data: rand(3 * 5 * 7, 1 / 3), shape: [3, 5, 7] };
    const [cpu, wasm] = await onBoth([x], withGrads((t) => tf.relu(t), rand(4096)));
    expectClose(cpu, wasm, 'relu');
    const w = { data: rand(3 * 3 * 2 * 4), shape: [3, 3, 2, 4] };
    const [cpu2, wasm2] = await onBoth([{ data: rand(2 * 9 * 9 * 2), shape: [2, 9, 9, 2] }, w],
      withGrads((a, f) => tf.relu(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')), rand(4096)));
    expectClose(cpu2, wasm2, 'conv relu');
  });

  it('sums over leading axes (with keepDims, negative axes) and elsewhere (the backend kernel) match cpu', async () => {
    const x = { data: rand(2 * 3 * 4 * 5), shape: [2, 3, 4, 5] };
    const [cpu, wasm] = await onBoth([x], (t) => [
      tf.sum(t, [0, 1, 2]), tf.sum(t, [0]), tf.sum(t, [-4, -3], true), tf.sum(t, [1, 2]), tf.sum(t, 3), tf.sum(t),
    ]);
    expectClose(cpu, wasm, 'sum');
  });

  it('identity and same-dtype cast share the data; the copies stay valid after the source is disposed', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const a = tf.tensor([1, 2, 3, 4], [2, 2]);
    const b = tf.clone(a);
    const c = tf.cast(a, 'float32');
    const f = tf.tensor([1.7, -2.2], [2]);
    const d = tf.cast(f, 'int32');
    a.dispose();
    f.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3, 4]);
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3, 4]);
    expect(d.dtype).toBe('int32');
    expect(Array.from(d.dataSync())).toEqual([1, -2]);
    tf.dispose([b, c, d]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('dense, batch norm, relu and relu6 chain: forward and gradients', async () => {
    const op = (x: tf.Tensor, w: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const h = tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
      const { mean, variance } = tf.moments(h, [0]);
      const bn = tf.batchNorm(h, mean, variance, b, g, 1e-3);
      return tf.add(tf.relu6(tf.mul(bn, 4)), tf.relu(bn));
    };
    const [cpu, wasm] = await onBoth(
      [{ data: rand(6 * 5), shape: [6, 5] }, { data: rand(5 * 7), shape: [5, 7] }, { data: rand(7), shape: [7] }, { data: rand(7), shape: [7] }],
      withGrads(op, rand(64)),
    );
    expectClose(cpu, wasm, 'dense/batchnorm/relu6');
  });
});
